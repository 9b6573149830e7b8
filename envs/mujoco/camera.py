"""Pinhole camera math: orbit poses, MuJoCo <-> OpenCV frames, intrinsics, projection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# OpenCV camera axes (x right, y down, z forward) expressed in MuJoCo's (x right, y up, z back).
_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class OrbitPose:
    """Camera looking at `target` from `distance` metres, `yaw` around world z, `pitch` above the
    horizon (radians).

    `pan` turns the view direction around the vertical axis through the camera (radians), so a
    panning camera looks away from the target without moving.
    """

    target: tuple[float, float, float]
    yaw: float
    pitch: float
    distance: float
    pan: float = 0.0

    def position(self) -> np.ndarray:
        """Camera centre in world metres, (3,)."""
        cp = np.cos(self.pitch)
        offset = np.array([cp * np.cos(self.yaw), cp * np.sin(self.yaw), np.sin(self.pitch)])
        return np.asarray(self.target, np.float64) + self.distance * offset

    def rotation(self) -> np.ndarray:
        """MuJoCo camera frame in world (columns x right, y up, z back), (3, 3)."""
        eye = self.position()
        c, s = np.cos(self.pan), np.sin(self.pan)
        turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return look_at(eye, eye + turn @ (np.asarray(self.target, np.float64) - eye))


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation whose columns are a MuJoCo camera's axes (x right, y up, -z towards target)."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right = right / np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.stack([right, up, -forward], axis=1)


def intrinsics(fovy_deg: float, width: int, height: int) -> np.ndarray:
    """3x3 K of MuJoCo's perspective camera: vertical field of view, square pixels, centred."""
    f = 0.5 * height / np.tan(np.deg2rad(fovy_deg) / 2)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]], np.float32)


def extrinsics(position: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """4x4 world->camera (OpenCV axes) from a MuJoCo camera's world position and frame."""
    r_cv = _GL_TO_CV @ rotation.T
    out = np.eye(4)
    out[:3, :3] = r_cv
    out[:3, 3] = -r_cv @ position
    return out.astype(np.float32)


def project(
    points: np.ndarray, extr: np.ndarray, intr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) -> pixel coordinates (N, 2) (x, y; pixel centres at +0.5) and camera
    depth (N,)."""
    cam = points @ extr[:3, :3].T.astype(np.float64) + extr[:3, 3]  # (N, 3)
    z = cam[:, 2]
    uv = cam[:, :2] / z[:, None] * np.diag(intr)[:2] + intr[:2, 2]
    return uv, z
