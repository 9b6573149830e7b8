"""The game clock a DiT may be told (`model.clock_period`): each latent frame's env step, read as
its phase in the game's day.

Game light is often a fixed function of the step (Crafter's day lasts 300 steps), and every
rollout knows its step: it starts from a known frame and counts the frames it makes. Told the
phase, a model need not guess the time of day from the light of its context, which a long
rollout's own drift misleads.
"""

from __future__ import annotations

import math

import torch


def latent_clock(first_step, frames: int, time_factor: int) -> torch.Tensor:
    """Env steps (..., frames) of latent frames 0..frames-1 whose first is the env step
    `first_step` (an int or a long tensor (...)): latent frame j ends at pixel frame
    first_step + time_factor j, the last of the pixel frames it encodes (frame 0 alone for j = 0).
    """
    first = torch.as_tensor(first_step, dtype=torch.long)
    return first[..., None] + time_factor * torch.arange(frames, device=first.device)


def clock_phase(clock: torch.Tensor, period: int) -> torch.Tensor:
    """Env steps (...) -> (..., 2): (sin, cos) of each step's phase in a day of `period` steps."""
    angle = (2 * math.pi / period) * torch.remainder(clock, period).float()  # (...)
    return torch.stack([angle.sin(), angle.cos()], dim=-1)
