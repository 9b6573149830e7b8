"""How long ago each action was last taken (`model.action_ages`), told to a DiT beside the actions.

A window of 8 latent frames sees 29 env steps. Some states outlast it: Crafter's sleeper wakes
when its energy is full, 80-90 steps after the `sleep` it pressed, and the window then shows only
identical dark frames. The action history beyond the window says how long the sleep has run. Each
frame is told, for each action value, the env steps since it was last taken, on a log scale: a
step ago and ten steps ago differ much, 200 and 210 little.
"""

from __future__ import annotations

import math

import torch


def action_ages(actions: torch.Tensor, cap: int) -> torch.Tensor:
    """Pixel-frame actions (..., T, A) -> their ages (..., T, A) in [0, 1]: at each frame, the env
    steps since each action value was last taken (above 0.5: a one-hot or button codec's
    "pressed"), that frame included, as log1p(age) / log1p(cap); 1 where it was not taken in the
    last `cap` steps or not since the first frame given (count from an episode's reset)."""
    steps = torch.arange(actions.shape[-2], device=actions.device)[:, None]  # (T, 1)
    never = torch.full_like(steps, -cap - 1)
    # (..., T, A): the latest frame <= t at which each value was taken (-cap - 1: none)
    last = torch.where(actions > 0.5, steps, never).cummax(dim=-2).values
    age = (steps - last).clamp(max=cap)
    return torch.log1p(age.float()) / math.log1p(cap)
