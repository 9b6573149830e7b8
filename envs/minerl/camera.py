"""Minecraft camera truth: player pose -> extrinsics, vertical field of view -> intrinsics.

Minecraft's world frame: x east, y up, z south (right-handed). yaw 0 faces south (+z) and grows
turning right (towards west); pitch > 0 looks down. The eye is EYE_HEIGHT above the feet.
"""

from __future__ import annotations

import numpy as np

EYE_HEIGHT = 1.62  # metres (1 block = 1 m) from the feet position to the eye
DEFAULT_VFOV = 70.0  # Minecraft's default "FOV" option, a vertical field of view


def extrinsics(feet_xyz: np.ndarray, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """4x4 world->camera (OpenCV: x right, y down, z forward) of the player's eye."""
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    forward = np.array([-np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    right = np.array([-np.cos(yaw), 0.0, -np.sin(yaw)])
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])  # (3, 3)
    eye = np.asarray(feet_xyz, np.float64) + np.array([0.0, EYE_HEIGHT, 0.0])
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = -rot @ eye
    return out.astype(np.float32)


def intrinsics(
    width: int, height: int, vfov_deg: float = DEFAULT_VFOV, native_aspect: float = 16 / 9
) -> np.ndarray:
    """3x3 K for frames rendered at `native_aspect` with vertical FOV `vfov_deg`, then resized to
    width x height."""
    fy = (height / 2.0) / np.tan(np.radians(vfov_deg) / 2.0)
    fx = fy * (width / height) / native_aspect  # square pixels natively; a resize may stretch them
    return np.array([[fx, 0.0, width / 2.0], [0.0, fy, height / 2.0], [0.0, 0.0, 1.0]], np.float32)
