"""Frame layouts at the model boundary: cases hold uint8 (B, T, H, W, 3), models take and return
float (B, T, C, H, W) in [-1, 1] (the `VideoModel` protocol of evals/suite.py)."""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange


def to_model_frames(frames: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B, T, C, H, W) float in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float() / 127.5 - 1
    return rearrange(x, "b t h w c -> b t c h w")


def from_model_frames(x: torch.Tensor) -> np.ndarray:
    """(B, T, C, H, W) float in [-1, 1] -> (B, T, H, W, 3) uint8."""
    x = rearrange(x.detach().float().cpu().clamp(-1, 1), "b t c h w -> b t h w c")
    return ((x + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).numpy()
