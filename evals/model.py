"""The model interface the suites score, and `load_model` for checkpoints and baselines."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from einops import rearrange

BASELINE_PREFIX = "baseline:"


@runtime_checkable
class VideoModel(Protocol):
    """Maps (context frames, actions, prompts) to future frames; same contract as DiTPredictor."""

    def predict(
        self, context: torch.Tensor, actions: torch.Tensor, prompts: list[str], horizon: int
    ) -> torch.Tensor:
        """context (B, Tc, C, H, W) in [-1, 1], actions (B, Tc + horizon, A) -> (B, horizon, C, H, W)."""
        ...


def load_model(spec: str, device: str = "cpu", seed: int = 0, **sampling) -> VideoModel:
    """`baseline:NAME` -> a calibration baseline; anything else -> a DiT checkpoint path (`sampling`:
    DiTPredictor overrides such as steps, window, seed)."""
    if spec.startswith(BASELINE_PREFIX):
        from evals.baselines import make_baseline

        return make_baseline(spec[len(BASELINE_PREFIX) :], seed=seed)
    from pathlib import Path

    if not Path(spec).exists():
        raise FileNotFoundError(
            f"model={spec!r} is neither a checkpoint file nor 'baseline:NAME' "
            "(ground_truth, copy_last, linear, noise)"
        )
    from worldsim.predictor import DiTPredictor

    return DiTPredictor.from_checkpoint(spec, device=device, **sampling)


def to_model_frames(frames: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B, T, C, H, W) float in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float() / 127.5 - 1
    return rearrange(x, "b t h w c -> b t c h w")


def from_model_frames(x: torch.Tensor) -> np.ndarray:
    """(B, T, C, H, W) float in [-1, 1] -> (B, T, H, W, 3) uint8."""
    x = rearrange(x.detach().float().cpu().clamp(-1, 1), "b t c h w -> b t h w c")
    return ((x + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).numpy()
