"""Resize a rendered frame and its pixel-aligned truth together.

So intrinsics, masks and depth stay consistent at any resolution.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (height, width, 3): box filter when shrinking, bilinear when enlarging."""
    if rgb.shape[:2] == (height, width):
        return rgb
    shrink = width <= rgb.shape[1] and height <= rgb.shape[0]
    resample = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(rgb).resize((width, height), resample))


def nearest_indices(src: int, dst: int) -> np.ndarray:
    """Source index whose pixel holds the centre of each destination pixel."""
    return np.minimum(((np.arange(dst) + 0.5) * src / dst).astype(np.int64), src - 1)


def resize_nearest(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, ...) label or depth map -> (height, width, ...) by nearest sampling.

    Nearest, so no label or depth is a mix of two.
    """
    if array.shape[:2] == (height, width):
        return array
    return array[nearest_indices(array.shape[0], height)][:, nearest_indices(array.shape[1], width)]


def scale_intrinsics(k: np.ndarray, src_wh: tuple[int, int], dst_wh: tuple[int, int]) -> np.ndarray:
    """K for the resized image (pixel centres at i + 0.5, so scaling rows 0 and 1 is exact)."""
    scale = np.diag([dst_wh[0] / src_wh[0], dst_wh[1] / src_wh[1], 1.0])
    return (scale @ k).astype(np.float32)
