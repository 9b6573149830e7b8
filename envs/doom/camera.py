"""Doom camera truth: metric units, pose -> extrinsics, field of view -> intrinsics, depth buffer ->
metres.

World frame: Doom's map x (east) and y (north) and z up, scaled to metres. Doom's angle is the
yaw counter-clockwise from +x. The envs never pitch the view (no look up/down buttons), so the
camera is a pure yaw rotation about the world z axis.
"""

from __future__ import annotations

import numpy as np

METRES_PER_UNIT = 1.0 / 32.0  # Doom wiki convention: 32 map units ~ 1 m (player 56 units ~ 1.75 m)
TICRATE = 35  # Doom game tics per second

# ViZDoom's uint8 depth buffer is linear in distance: value ~ DEPTH_PER_UNIT * units + DEPTH_OFFSET,
# floored. Fitted against ray-cast wall distances on my_way_home (ViZDoom issue #192: "~14 per
# 100").
DEPTH_PER_UNIT = 0.1404
DEPTH_OFFSET = -0.777


def extrinsics(position_m: np.ndarray, yaw_deg: float) -> np.ndarray:
    """4x4 world->camera (OpenCV: x right, y down, z forward) for a camera at `position_m` facing
    `yaw_deg`."""
    yaw = np.radians(yaw_deg)
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    rot = np.stack([right, down, forward])  # (3, 3) rows are the camera axes in world coordinates
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = -rot @ np.asarray(position_m, np.float64)
    return out.astype(np.float32)


def intrinsics(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """3x3 K of a square-pixel pinhole camera with horizontal field of view `hfov_deg` (pixel
    centres at i + 0.5)."""
    f = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]], np.float32)


def depth_metres(buffer: np.ndarray) -> np.ndarray:
    """ViZDoom uint8 depth buffer (H, W) -> float32 metres along the camera z axis (bin centres)."""
    units = (buffer.astype(np.float32) + 0.5 - DEPTH_OFFSET) / DEPTH_PER_UNIT
    return (units * METRES_PER_UNIT).astype(np.float32)
