"""Pixel range conversion: the one place that knows uint8 [0, 255] maps to the models' [-1, 1]."""

from __future__ import annotations

import numpy as np
import torch

HALF_RANGE = 127.5  # uint8 value of 0.0 in model range: x = u / 127.5 - 1


def pixels_to_unit(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 frames of any shape (numpy or torch) -> float32 in [-1, 1], same shape and layout."""
    x = torch.from_numpy(np.array(frames)) if isinstance(frames, np.ndarray) else frames
    return x.float() / HALF_RANGE - 1


def unit_to_pixels(x: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] (any shape) -> uint8 rounded to the nearest level, same shape and layout."""
    return ((x.float() + 1) * HALF_RANGE + 0.5).clamp(0, 255).to(torch.uint8)


def quantise(x: torch.Tensor) -> torch.Tensor:
    """Frames in [-1, 1] snapped to the 256 levels a uint8 video holds (still in [-1, 1])."""
    return torch.round((x + 1) * HALF_RANGE) / HALF_RANGE - 1
