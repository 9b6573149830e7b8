"""Classifier-free guidance with separate text and action scales, as a velocity function.

v = v(-, -) + s_text * (v(text, -) - v(-, -)) + s_action * (v(text, action) - v(text, -)),
each term evaluated in one batched model call; scales of 1 skip the terms they do not need.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from worldsim.diffusion.samplers import Velocity
from worldsim.diffusion.sampling_config import GuidanceConfig
from worldsim.models.dit import TextBatch


def _repeat(x, n: int):
    """Stack n copies of a tensor or TextBatch along the batch."""
    if x is None:
        return None
    if isinstance(x, TextBatch):
        return TextBatch(*(_repeat(v, n) for v in x))
    return torch.cat([x] * n, dim=0)


def guided_velocity(
    model: Callable[..., torch.Tensor],
    actions: torch.Tensor | None,
    text: TextBatch | None,
    cfg: GuidanceConfig,
) -> Velocity:
    """A velocity function (x, levels) -> v applying `cfg`'s guidance to `model` (the DiT, or
    anything called like its forward, such as a `ContextModel`)."""
    need_text_only = cfg.action_scale != 1.0 or cfg.text_scale != 1.0
    need_uncond = cfg.text_scale != 1.0
    n = 1 + need_text_only + need_uncond  # variants: both kept, actions dropped, both dropped

    def velocity(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        # made on the device from an arange: no host-to-device copy (CUDA-graph capturable)
        variant = torch.arange(n * b, device=x.device) // b  # (n B,)
        out = (
            model(
                _repeat(x, n),
                _repeat(levels, n),
                _repeat(actions, n),
                _repeat(text, n),
                drop_actions=variant >= 1,
                drop_text=variant >= 2,
            )
            .float()
            .chunk(n)
        )
        v = out[0]
        if need_text_only:
            v_text = out[1]
            base = out[2] + cfg.text_scale * (v_text - out[2]) if need_uncond else v_text
            v = base + cfg.action_scale * (out[0] - v_text)
        return v.to(x.dtype)

    return velocity
