"""Classifier-free guidance with separate text and action scales, as a velocity function.

v = v(-, -) + s_text * (v(text, -) - v(-, -)) + s_action * (v(text, action) - v(text, -)),
each term evaluated in one batched model call; scales of 1 skip the terms they do not need, and so
does a model called without actions (v(text, -) is then v(text, action)). With a
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


def cat_rows(parts: list):
    """Tensors or TextBatches (all of one kind; None stays None) stacked along the batch."""
    if parts[0] is None:
        return None
    if isinstance(parts[0], TextBatch):
        return TextBatch(*(torch.cat(field, dim=0) for field in zip(*parts, strict=True)))
    return torch.cat(parts, dim=0)


def with_rows_dropped(drop_actions, drop_text, dropped, n: int):
    """The guidance variants' masks (n B,) with `dropped`'s rows (B,) (actions, text) dropped in
    every one of the n variants too; drop_text None: no prompt dropped."""
    if dropped is None:
        return drop_actions, drop_text
    text_rows = dropped[1].repeat(n)
    drop_text = text_rows if drop_text is None else drop_text | text_rows
    return drop_actions | dropped[0].repeat(n), drop_text


def guided_velocity(
    model: Callable[..., torch.Tensor],
    actions: torch.Tensor | None,
    text: TextBatch | None,
    cfg: GuidanceConfig,
    negative: TextBatch | None = None,
    negative_scale: float = 1.0,
    dropped: tuple[torch.Tensor, torch.Tensor] | None = None,
    clock: torch.Tensor | None = None,
) -> Velocity:
    """A velocity function (x, levels) -> v applying `cfg`'s guidance to `model` (the DiT, or
    anything called like its forward, such as a `ContextModel`). `negative`: prompts encoded to
    the length of `text`'s, which the text guidance starts from instead of the dropped prompt;
    `negative_scale`: the weight of what they say over the dropped prompt. `dropped`: (B,) masks
    (actions, text) of rows whose actions or prompt are dropped in every variant (flow.dmd's
    generator makes frames under training's conditioning dropout). `clock` (B, T): the latent
    frames' env steps, alike in every variant (guidance never contrasts the hour)."""
    # without actions (None: the null action in every row) v(text, -) is v(text, action): no
    # variant of its own
    split_actions = actions is not None and (cfg.action_scale != 1.0 or cfg.text_scale != 1.0)
    need_uncond = cfg.text_scale != 1.0
    contrast = need_uncond and negative is not None  # the uncond variant reads `negative`
    need_empty = contrast and negative_scale != 1.0  # one more: the prompt dropped
    # variants: both kept, [actions dropped], [the prompt dropped (or the negative)], [dropped]
    u = 1 + split_actions  # the uncond variant's index
    n = u + need_uncond + need_empty
    texts = cat_rows([text] * u + [negative] * (n - u)) if contrast else cat_rows([text] * n)
    clocks = cat_rows([clock] * n)

    def velocity(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        # made on the device from an arange: no host-to-device copy (CUDA-graph capturable)
        variant = torch.arange(n * b, device=x.device) // b  # (n B,)
        # the prompt is dropped after the negative's variant, or from the uncond variant on
        drop_text = variant > u if need_empty else None if contrast else variant >= u
        drop_actions, drop_text = with_rows_dropped(variant >= 1, drop_text, dropped, n)
        out = (
            model(
                *(cat_rows([v] * n) for v in (x, levels, actions)),
                texts,
                drop_actions=drop_actions,
                drop_text=drop_text,
                clock=clocks,
            )
            .float()
            .chunk(n)
        )
        v_text = out[1] if split_actions else out[0]
        v = v_text
        if need_uncond:  # from v(-, -), or from the negative weighed over it
            start = out[u]
            if need_empty:
                start = out[u + 1] + negative_scale * (out[u] - out[u + 1])
            v = start + cfg.text_scale * (v_text - out[u])
        if split_actions:
            v = v + cfg.action_scale * (out[0] - v_text)
        return v.to(x.dtype)

    return velocity
