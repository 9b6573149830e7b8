"""Frame layouts at the model boundary: cases hold uint8 (B, T, H, W, 3), models take and return
float (B, T, C, H, W) in [-1, 1] (the `VideoModel` protocol of evals/suite.py)."""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange

from worldsim.data.pixels import pixels_to_unit, unit_to_pixels


def to_model_frames(frames: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B, T, C, H, W) float in [-1, 1]."""
    return rearrange(pixels_to_unit(frames), "b t h w c -> b t c h w")


def from_model_frames(x: torch.Tensor) -> np.ndarray:
    """(B, T, C, H, W) float in [-1, 1] -> (B, T, H, W, 3) uint8."""
    return unit_to_pixels(rearrange(x.detach().cpu(), "b t c h w -> b t h w c")).numpy()
