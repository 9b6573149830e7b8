"""Classifier-free guidance with separate text and action scales, as a velocity function.

v = v(-, -) + s_text * (v(text, -) - v(-, -)) + s_action * (v(text, action) - v(text, -)),
each term evaluated in one batched model call; scales of 1 skip the terms they do not need.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from worldsim.diffusion.samplers import Velocity
from worldsim.models.dit import TextBatch


@dataclass
class GuidanceConfig:
    """Guidance scales: 1 = plain conditional model, 0 = drop that conditioning."""

    text_scale: float = 1.0
    action_scale: float = 1.0


def _repeat(x, n: int):
    """Stack n copies of a tensor or TextBatch along the batch."""
    if x is None:
        return None
    if isinstance(x, TextBatch):
        return TextBatch(*(_repeat(v, n) for v in x))
    return torch.cat([x] * n, dim=0)


def guided_velocity(
    model: torch.nn.Module,
    actions: torch.Tensor | None,
    text: TextBatch | None,
    cfg: GuidanceConfig,
) -> Velocity:
    """A velocity function (x, levels) -> v applying `cfg`'s guidance to `model`."""
    need_text_only = cfg.action_scale != 1.0 or cfg.text_scale != 1.0
    need_uncond = cfg.text_scale != 1.0
    variants = (
        [(False, False)] + [(False, True)] * need_text_only + [(True, True)] * need_uncond
    )  # (drop text, drop act)

    def velocity(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        b, n = x.shape[0], len(variants)
        drop_text = torch.tensor([d for d, _ in variants], device=x.device).repeat_interleave(b)
        drop_act = torch.tensor([d for _, d in variants], device=x.device).repeat_interleave(b)
        out = (
            model(
                _repeat(x, n),
                _repeat(levels, n),
                _repeat(actions, n),
                _repeat(text, n),
                drop_actions=drop_act,
                drop_text=drop_text,
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
