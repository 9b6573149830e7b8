"""Per-object truth that needs geometry: unoccluded projected area, for visible fractions.

An object's visible fraction is (pixels of its mask) / (pixels it would cover with nothing in
front of it and an unbounded image). The denominator comes from area-weighted surface samples:
a surface patch dA with outward normal n at camera depth z covers fx*fy*dA*(n.(c-p))/z^3 pixels,
summed over front-facing patches, so leaving the frame and being hidden both lower the fraction.
"""

from __future__ import annotations

import numpy as np

SAMPLES = 24  # resolution of the surface sampling grids


def _sphere(r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = SAMPLES * SAMPLES
    i = np.arange(k) + 0.5
    polar = np.arccos(1 - 2 * i / k)
    azim = np.pi * (1 + 5**0.5) * i  # Fibonacci sphere: equal-area points
    n = np.stack([np.cos(azim) * np.sin(polar), np.sin(azim) * np.sin(polar), np.cos(polar)], 1)
    return r * n, n, np.full(k, 4 * np.pi * r * r / k)


def _grid(u_len: float, v_len: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres (K, 2) of a SAMPLES x SAMPLES grid over [-u_len, u_len] x [-v_len, v_len]."""
    t = (np.arange(SAMPLES) + 0.5) / SAMPLES * 2 - 1
    u, v = np.meshgrid(t * u_len, t * v_len, indexing="ij")
    return np.stack([u.ravel(), v.ravel()], 1), np.full(
        SAMPLES * SAMPLES, 4 * u_len * v_len / SAMPLES**2
    )


def _box(h: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pts, nrm, area = [], [], []
    for axis in range(3):
        a, b = [d for d in range(3) if d != axis]
        uv, da = _grid(h[a], h[b])
        for sign in (-1.0, 1.0):
            p = np.zeros((len(uv), 3))
            p[:, a], p[:, b], p[:, axis] = uv[:, 0], uv[:, 1], sign * h[axis]
            n = np.zeros_like(p)
            n[:, axis] = sign
            pts.append(p), nrm.append(n), area.append(da)
    return np.concatenate(pts), np.concatenate(nrm), np.concatenate(area)


def _cylinder(r: float, hh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    angle = (np.arange(SAMPLES * 2) + 0.5) / (SAMPLES * 2) * 2 * np.pi
    z = ((np.arange(SAMPLES) + 0.5) / SAMPLES * 2 - 1) * hh
    a, zz = np.meshgrid(angle, z, indexing="ij")
    side_n = np.stack([np.cos(a.ravel()), np.sin(a.ravel()), np.zeros(a.size)], 1)
    side_p = side_n * r + np.stack([np.zeros(a.size), np.zeros(a.size), zz.ravel()], 1)
    side_a = np.full(a.size, 2 * np.pi * r * 2 * hh / a.size)
    uv, da = _grid(r, r)
    inside = (uv**2).sum(1) <= r * r
    uv, da = uv[inside], da[inside] * (np.pi * r * r) / (da[inside].sum())  # disc area exactly
    pts, nrm, area = [side_p], [side_n], [side_a]
    for sign in (-1.0, 1.0):
        pts.append(np.concatenate([uv, np.full((len(uv), 1), sign * hh)], 1))
        nrm.append(np.tile([0.0, 0.0, sign], (len(uv), 1)))
        area.append(da)
    return np.concatenate(pts), np.concatenate(nrm), np.concatenate(area)


def surface_samples(
    shape: str, size: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Body-frame points (K, 3), outward normals (K, 3) and areas (K,) covering a geom's surface."""
    if shape == "sphere":
        return _sphere(size[0])
    if shape == "box":
        return _box(tuple(size))
    if shape == "cylinder":
        return _cylinder(size[0], size[1])
    raise ValueError(f"shape {shape!r} has no surface sampler; use sphere, box or cylinder")


def projected_pixels(
    points: np.ndarray, normals: np.ndarray, areas: np.ndarray, extr: np.ndarray, intr: np.ndarray
) -> float:
    """Pixels a surface (world points/normals (K, 3), areas (K,)) covers on an unbounded image,
    unoccluded."""
    rot, trans = extr[:3, :3].astype(np.float64), extr[:3, 3].astype(np.float64)
    cam_p = points @ rot.T + trans  # (K, 3) camera frame
    cam_n = normals @ rot.T
    facing = -(cam_n * cam_p).sum(1)  # n.(c - p), the camera centre being the origin
    z = cam_p[:, 2]
    keep = (facing > 0) & (z > 1e-6)
    return float(intr[0, 0] * intr[1, 1] * (areas[keep] * facing[keep] / z[keep] ** 3).sum())
