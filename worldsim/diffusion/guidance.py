"""Classifier-free guidance with separate text and action scales, as a velocity function.

v = v(-, -) + s_text * (v(text, -) - v(-, -)) + s_action * (v(text, action) - v(text, -)),
each term evaluated in one batched model call; scales of 1 skip the terms they do not need. With a
negative prompt, v(negative, -) stands in for v(-, -): the text guidance then amplifies only what
the prompt says beyond the negative one; `negative_scale` weighs what the negative prompt itself
says over the empty one (1: guidance starts from it; 0: it is only subtracted, from v(-, -)):
v = v(-, -) + s_neg * (v(neg, -) - v(-, -)) + s_text * (v(text, -) - v(neg, -)) + ....
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from worldsim.diffusion.samplers import Velocity
from worldsim.diffusion.sampling_config import GuidanceConfig
from worldsim.models.dit import TextBatch


def _cat(parts: list):
    """Tensors or TextBatches (all of one kind; None stays None) stacked along the batch."""
    if parts[0] is None:
        return None
    if isinstance(parts[0], TextBatch):
        return TextBatch(*(torch.cat(field, dim=0) for field in zip(*parts, strict=True)))
    return torch.cat(parts, dim=0)


def guided_velocity(
    model: Callable[..., torch.Tensor],
    actions: torch.Tensor | None,
    text: TextBatch | None,
    cfg: GuidanceConfig,
    negative: TextBatch | None = None,
) -> Velocity:
    """A velocity function (x, levels) -> v applying `cfg`'s guidance to `model` (the DiT, or
    anything called like its forward, such as a `ContextModel`). `negative`: prompts encoded to
    the length of `text`'s, which the text guidance starts from instead of the dropped prompt."""
    need_text_only = cfg.action_scale != 1.0 or cfg.text_scale != 1.0
    need_uncond = cfg.text_scale != 1.0
    contrast = need_uncond and negative is not None  # the third variant reads `negative`
    need_empty = contrast and cfg.negative_scale != 1.0  # a fourth: the prompt dropped
    # variants: both kept, actions dropped, the prompt dropped (or the negative), the prompt dropped
    n = 1 + need_text_only + need_uncond + need_empty
    texts = _cat([text, text] + [negative] * (n - 2)) if contrast else _cat([text] * n)

    def velocity(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        # made on the device from an arange: no host-to-device copy (CUDA-graph capturable)
        variant = torch.arange(n * b, device=x.device) // b  # (n B,)
        drop_text = variant >= 3 if need_empty else None if contrast else variant >= 2
        out = (
            model(
                _cat([x] * n),
                _cat([levels] * n),
                _cat([actions] * n),
                texts,
                drop_actions=variant >= 1,
                drop_text=drop_text,
            )
            .float()
            .chunk(n)
        )
        v = out[0]
        if need_text_only:
            v_text = out[1]
            base = v_text
            if need_uncond:  # from v(-, -), or from the negative weighed over it
                start = out[3] + cfg.negative_scale * (out[2] - out[3]) if need_empty else out[2]
                base = start + cfg.text_scale * (v_text - out[2])
            v = base + cfg.action_scale * (out[0] - v_text)
        return v.to(x.dtype)

    return velocity
