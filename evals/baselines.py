"""Calibration baselines: ground-truth replay (ceiling), copy-last, linear extrapolation, noise.

Oracles (ground truth and the corrupted replays of `evals/corruptions.py`) are told which window
of which case is being predicted through `reveal` before `predict` (the `Oracle` protocol of
evals/suite.py); they exist only to calibrate the metrics and never see anything a real model
could not be scored against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from worldsim.models.pretrained import checkpoint_missing

if TYPE_CHECKING:  # torch is imported where a baseline predicts: `require_model` needs none
    import torch

BASELINE_PREFIX = "baseline:"


class GroundTruthReplay:
    """Returns the true future frames: every metric's ceiling. Subclasses replay edited truth."""

    def __init__(self):
        self._future: torch.Tensor | None = None

    def frames(self, case) -> np.ndarray:
        """The (T, H, W, 3) uint8 video this oracle replays for `case`."""
        return case.frames

    def reveal(self, cases: list, start: int, horizon: int) -> None:
        """Remember frames [start, start + horizon) of each case's replayed video."""
        from evals.model import to_model_frames

        self._future = to_model_frames(
            np.stack([self.frames(c)[start : start + horizon] for c in cases])
        )

    def predict(self, context, actions, prompts, horizon):
        if self._future is None or self._future.shape[:2] != (context.shape[0], horizon):
            raise RuntimeError(
                f"{type(self).__name__}.predict needs reveal(cases, start, horizon) first"
            )
        return self._future.to(context.device)


class CopyLastFrame:
    """Repeats the last context frame."""

    def predict(self, context, actions, prompts, horizon):
        return context[:, -1:].expand(-1, horizon, -1, -1, -1).clone()  # (B, horizon, C, H, W)


class LinearExtrapolation:
    """Continues the per-pixel change between the last two context frames, clipped to the range."""

    def predict(self, context, actions, prompts, horizon):
        import torch

        last, step = context[:, -1:], context[:, -1:] - context[:, -2:-1]
        k = torch.arange(1, horizon + 1, device=context.device, dtype=context.dtype).view(
            1, -1, 1, 1, 1
        )
        return (last + k * step).clamp(-1, 1)  # (B, horizon, C, H, W)


class UniformNoise:
    """Independent uniform noise in [-1, 1], seeded (the floor of every metric)."""

    def __init__(self, seed: int = 0):
        import torch

        self.generator = torch.Generator().manual_seed(seed)

    def predict(self, context, actions, prompts, horizon):
        import torch

        b, _, c, h, w = context.shape
        return (torch.rand((b, horizon, c, h, w), generator=self.generator) * 2 - 1).to(
            context.device
        )


BASELINES = {
    "ground_truth": GroundTruthReplay,
    "copy_last": CopyLastFrame,
    "linear": LinearExtrapolation,
    "noise": UniformNoise,
}


def make_baseline(name: str, seed: int = 0):
    """A baseline by name."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")
    return BASELINES[name](seed) if name == "noise" else BASELINES[name]()


def require_model(spec: str) -> None:
    """Refuse a model= that is neither `baseline:NAME` nor a checkpoint that is there, without
    reading it: eval and bench call this before torch loads (seconds), `load_model` too."""
    if not spec.startswith(BASELINE_PREFIX) and checkpoint_missing(spec, split=True):
        raise FileNotFoundError(
            f"model={spec!r} is neither a checkpoint file nor 'baseline:NAME' "
            f"({', '.join(BASELINES)})"
        )
