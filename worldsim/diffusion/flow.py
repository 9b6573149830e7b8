"""Rectified flow with an independent noise level per latent frame (diffusion forcing).

Convention: level t in [0, 1]; x_t = (1 - t) * x0 + t * noise; t = 0 is data, t = 1 pure noise.
The model predicts the velocity v = noise - x0, so dx/dt = v and samplers integrate from 1 down to
0. Frames at level 0 are clean context: they condition the others and carry no loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import torch

from worldsim.diffusion.flow_config import FlowConfig


def per_frame(levels: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Levels (B, T) shaped to broadcast over latents `like` (B, T, ...), in their dtype."""
    return levels.reshape(*levels.shape, *([1] * (like.dim() - 2))).to(like.dtype)


def noisy(x0: torch.Tensor, noise: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x0 + t noise with per-frame levels (B, T) on latents (B, T, ...)."""
    t = per_frame(levels, x0)
    return (1 - t) * x0 + t * noise


def clean_estimate(x_t: torch.Tensor, v: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The one-step clean estimate x_t - t v (B, T, ...) from predicted velocities `v`: the
    model's posterior mean of x0 at per-frame `levels` (B, T)."""
    return x_t - per_frame(levels, x_t) * v.to(x_t.dtype)


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The rectified-flow velocity d x_t / dt = noise - x0."""
    return noise - x0


def clean_estimate_error(
    model,
    x0: torch.Tensor,
    noise: torch.Tensor,
    levels: torch.Tensor,
    actions=None,
    text=None,
    clock=None,
    cells: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-sample latent MSE (B,) of the model's one-step clean estimate x_t - t v against x0
    (B, T, c, h, w), over the noised frames (levels (B, T) > 0) only; the others are clean
    context. No sampling: it measures what the model knows (its posterior mean at that level).
    `cells` (h, w): weights of the latent cells in the mean (None: every cell alike)."""
    x = noisy(x0, noise, levels)
    estimate = clean_estimate(x, model(x, levels, actions, text, clock=clock), levels)
    sq = (estimate - x0).pow(2)  # (B, T, c, h, w)
    if cells is None:
        err = sq.flatten(2).mean(-1)  # (B, T)
    else:
        cells = cells.to(sq)
        err = (sq * cells).sum((2, 3, 4)) / (cells.sum() * sq.shape[2])  # (B, T)
    noised = (levels > 0).to(err.dtype)
    return (err * noised).sum(1) / noised.sum(1)


def resolution_shift(tokens_per_frame: int, base_tokens: int) -> float:
    """SD3-style shift factor sqrt(tokens / base): bigger frames need noisier levels."""
    return math.sqrt(max(tokens_per_frame, 1) / base_tokens)


def shift_levels(levels: torch.Tensor, shift: float) -> torch.Tensor:
    """Map t -> s t / (1 + (s - 1) t); s > 1 moves levels towards noise, keeps 0 and 1 fixed."""
    return shift * levels / (1 + (shift - 1) * levels)


def logit_normal(
    shape: tuple[int, ...], mean: float, std: float, generator=None, device=None
) -> torch.Tensor:
    """Levels sigmoid(N(mean, std^2)): concentrated mid-way, never exactly 0 or 1."""
    return torch.sigmoid(mean + std * torch.randn(shape, generator=generator, device=device))


# Context kinds drawn per sample by `context_mask` (integer codes: they are drawn with randint).
PREFIX, SUFFIX, BOTH_ENDS = 0, 1, 2


def context_mask(batch: int, frames: int, cfg: FlowConfig, generator=None) -> torch.Tensor:
    """(B, T) bool of clean context frames, for a share of samples: a prefix or a suffix of 1..T-1
    frames (T-1 clean + 1 noisy is exactly an autoregressive rollout step), or both ends
    (interpolation)."""
    if frames < 2:
        return torch.zeros(batch, frames, dtype=torch.bool)
    use = torch.rand(batch, generator=generator) < cfg.context_prob
    kind = torch.randint(0, 3, (batch,), generator=generator)  # PREFIX, SUFFIX or BOTH_ENDS
    one_end = torch.randint(1, frames, (batch,), generator=generator)
    half = max(1, (frames - 1) // 2)  # both ends together leave at least one frame to generate
    both = torch.randint(1, half + 1, (batch, 2), generator=generator)
    n_prefix = torch.where(kind == BOTH_ENDS, both[:, 0], 0)
    n_prefix = torch.where(kind == PREFIX, one_end, n_prefix)
    n_suffix = torch.where(kind == BOTH_ENDS, both[:, 1], 0)
    n_suffix = torch.where(kind == SUFFIX, one_end, n_suffix)
    if frames == 2:  # no room for both ends: keep the prefix only
        n_suffix = torch.where(kind == BOTH_ENDS, 0, n_suffix)
    idx = torch.arange(frames)
    mask = (idx[None] < n_prefix[:, None]) | (idx[None] >= frames - n_suffix[:, None])
    return mask & use[:, None]


def sample_levels(
    batch: int, frames: int, tokens_per_frame: int, cfg: FlowConfig, generator=None
) -> torch.Tensor:
    """Training levels (B, T): independent per frame, or shared per sample; context frames at 0."""
    levels = logit_normal((batch, frames), cfg.logit_mean, cfg.logit_std, generator)
    shared = torch.rand(batch, generator=generator) < cfg.shared_prob
    levels = torch.where(shared[:, None], levels[:, :1].expand(-1, frames), levels)
    if cfg.shift:
        levels = shift_levels(levels, resolution_shift(tokens_per_frame, cfg.shift_base_tokens))
    return levels.masked_fill(context_mask(batch, frames, cfg, generator), 0.0)


def noised_context(levels: torch.Tensor, cfg: FlowConfig, generator=None) -> torch.Tensor:
    """Model-input levels (B, T): the clean context frames (level 0) of each sample noised to one
    level drawn uniformly in [0, cfg.context_noise]. GameNGen's conditioning augmentation: a model
    that has seen corrupted context learns to correct it, so its own imperfect frames do not
    compound over a long rollout. The loss still reads the unaugmented levels: context frames
    carry no loss at any level."""
    if cfg.context_noise <= 0:
        return levels
    level = cfg.context_noise * torch.rand(levels.shape[0], 1, generator=generator)  # (B, 1)
    return torch.where(levels == 0, level.to(levels), levels)


def context_estimate_levels(levels: torch.Tensor, cfg: FlowConfig, generator=None) -> torch.Tensor:
    """The levels (K, T) of a no-grad pass over the batch's first K = round(B x
    cfg.context_estimate) samples, whose one-step clean estimates x_t - t v then replace those
    samples' clean context frames (level 0 in `levels` (B, T)). Each sample's context goes to one
    level drawn uniformly in (0, cfg.context_estimate_level]; its other frames keep their levels.
    The first K, not a random share: a loader's batches are shuffled already, and a fixed K keeps
    the pass's shapes fixed (compiled graphs) and its cost to K samples.

    Why: a long rollout's context is the model's own frames, whose error is not Gaussian noise
    (what `noised_context` teaches) but the model's: lost detail, compounding. A one-step estimate
    carries that kind of error, so a model trained to predict the true next frame from it learns
    to restore detail instead of inheriting its loss (exposure bias, as in scheduled sampling)."""
    first = levels[: round(levels.shape[0] * cfg.context_estimate)]  # (K, T)
    level = cfg.context_estimate_level * (1 - torch.rand(first.shape[0], 1, generator=generator))
    return torch.where(first == 0, level.to(first), first)


def rollout_levels(
    rows: int, frames: int, tokens_per_frame: int, cfg: FlowConfig, generator=None
) -> torch.Tensor:
    """Training levels (K, T) of the rollout bank's samples: the first T - 1 frames are clean
    context (the model's own rollout), the last frame is the target, at a level drawn as any
    generated frame's (`sample_levels` without its context masks)."""
    levels = sample_levels(
        rows, frames, tokens_per_frame, replace(cfg, context_prob=0.0), generator
    )
    return torch.cat([torch.zeros_like(levels[:, :-1]), levels[:, -1:]], dim=1)


def flow_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    levels: torch.Tensor,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared velocity error over frames with level > 0 (clean context carries no signal).
    `weight` (B, T, 1, H, W) multiplies each latent cell's squared error before the frame's mean
    (flow.object_weight's 1 + w x object share); not renormalised, so that frames full of objects
    weigh more instead of weakening their background."""
    error = (pred.float() - target.float()).pow(2)  # (B, T, C, H, W)
    if weight is not None:
        error = error * weight
    per_frame = error.flatten(2).mean(-1)  # (B, T)
    noised = (levels > 0).float()
    return (per_frame * noised).sum() / noised.sum().clamp(min=1.0)


def region_shares(
    height: int, width: int, region: Sequence[float], device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(H, W) share of each of a (height, width) latent grid's cells inside `region` (top, bottom,
    left, right as fractions of the frame), on `device`: flow.region_weight's mask."""

    def cover(cells: int, low: float, high: float) -> torch.Tensor:
        edges = torch.arange(cells + 1, dtype=torch.float32, device=device) / cells  # (cells + 1,)
        overlap = edges[1:].clamp(max=high) - edges[:-1].clamp(min=low)  # (cells,)
        return overlap.clamp(min=0) * cells

    top, bottom, left, right = region
    return cover(height, top, bottom)[:, None] * cover(width, left, right)[None, :]


def conditioning_dropout(batch: int, p: float, generator=None) -> torch.Tensor:
    """(B,) bool on the host: which samples lose a conditioning signal (for classifier-free
    guidance)."""
    return torch.rand(batch, generator=generator) < p
