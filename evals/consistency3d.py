"""3D consistency: generated frames vs the observed scene warped with true depth and camera poses.

Static scenery only (pixels whose true instance id is background in both views): moving objects
are the physics and permanence suites' business. Occlusion-aware: a target pixel counts only if
its 3D point, projected into the source view, lands in the image at the depth the source sees.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from envs.base import BACKGROUND_ID
from evals.suite import SuiteContext, average, nanmean, require_truth

NAME = "consistency3d"
PRIMARY = "warp_error"
HIGHER_IS_BETTER = False
# static scenery only: a vanished or recoloured object leaves the background intact
DETECTS = (
    "frozen",
    "teleport",
    "spawn",
    "reversed",
    "camera_drift",
    "gravity",
)  # with a moving camera
# truth the cases must hold (eval checks it before any rollout)
TRUTH = ("depth", "intrinsics", "extrinsics", "instance")
DEPTH_TOLERANCE = 0.05  # relative depth mismatch above which the source view is occluded
REVISIT_ANGLE_DEG = 10.0  # camera poses closer than this (and REVISIT_DISTANCE) revisit a view
REVISIT_DISTANCE = 0.05  # as a fraction of the camera's distance to the world origin
MIN_GAP = 3  # frames between a view and its revisit


def reproject(
    depth_t: np.ndarray, K_t: np.ndarray, E_t: np.ndarray, K_s: np.ndarray, E_s: np.ndarray
):
    """Pixel centres of view t lifted with its depth and projected into view s: (u_s, v_s, z_s),
    each (H, W)."""
    h, w = depth_t.shape
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(K_t).T  # (H, W, 3), z = 1
    cam_t = (
        rays * np.where(np.isfinite(depth_t), depth_t, 0)[..., None]
    )  # sky (inf) is masked by callers
    world = (cam_t - E_t[:3, 3]) @ E_t[:3, :3]  # inverse of x_cam = R x_world + t
    cam_s = world @ E_s[:3, :3].T + E_s[:3, 3]
    proj = cam_s @ K_s.T
    z = cam_s[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return proj[..., 0] / z, proj[..., 1] / z, z


def warp_error(
    target: np.ndarray, source: np.ndarray, truth: dict, t: int, s: int
) -> tuple[float, float]:
    """Mean |target - source warped into view t| in [0, 1] over valid static pixels, and the valid
    fraction."""
    depth_t, depth_s = truth["depth"][t], truth["depth"][s]
    u, v, z = reproject(
        depth_t,
        truth["intrinsics"][t],
        truth["extrinsics"][t],
        truth["intrinsics"][s],
        truth["extrinsics"][s],
    )
    h, w = depth_t.shape
    inside = np.isfinite(depth_t) & (z > 0) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    iu = np.clip(np.nan_to_num(u).astype(int), 0, w - 1)
    iv = np.clip(np.nan_to_num(v).astype(int), 0, h - 1)
    seen = np.abs(depth_s[iv, iu] - z) <= DEPTH_TOLERANCE * np.abs(z)
    static = (truth["instance"][t] == BACKGROUND_ID) & (
        truth["instance"][s][iv, iu] == BACKGROUND_ID
    )
    valid = inside & seen & static
    if not valid.any():
        return float("nan"), 0.0
    coords = [np.nan_to_num(v) - 0.5, np.nan_to_num(u) - 0.5]
    warped = np.stack(
        [
            ndimage.map_coordinates(
                source[..., c].astype(np.float32), coords, order=1, mode="nearest"
            )
            for c in range(3)
        ],
        -1,
    )
    err = np.abs(target.astype(np.float32) - warped).mean(-1) / 255
    return float(err[valid].mean()), float(valid.mean())


def revisits(extrinsics: np.ndarray, first: int) -> list[tuple[int, int]]:
    """Pairs (i, j), j >= first, i <= j - MIN_GAP, whose camera poses coincide after moving
    apart."""
    rot, centre = (
        extrinsics[:, :3, :3],
        -np.einsum("tji,tj->ti", extrinsics[:, :3, :3], extrinsics[:, :3, 3]),
    )
    scale = np.linalg.norm(centre, axis=-1).mean() + 1e-6

    def near(i: int, j: int) -> bool:
        angle = np.degrees(np.arccos(np.clip((np.trace(rot[i] @ rot[j].T) - 1) / 2, -1, 1)))
        return (
            angle < REVISIT_ANGLE_DEG
            and np.linalg.norm(centre[i] - centre[j]) < REVISIT_DISTANCE * scale
        )

    # a revisit needs the camera to have left the view in between (a still camera revisits nothing)
    return [
        (i, j)
        for j in range(first, len(extrinsics))
        for i in range(0, j - MIN_GAP + 1)
        if near(i, j) and not all(near(i, k) for k in range(i + 1, j))
    ]


def score_case(case, pred: np.ndarray) -> dict:
    """Per-step warp error from the last true frame, and loop-closure error on revisited views."""
    ctx, truth = case.context, case.truth
    video = np.concatenate([case.frames[:ctx], pred])  # observed context, then generated horizon
    curve = [
        warp_error(pred[k], case.frames[ctx - 1], truth, ctx + k, ctx - 1)[0]
        for k in range(len(pred))
    ]
    loops = [
        warp_error(video[j], video[i], truth, j, i)[0]
        for i, j in revisits(truth["extrinsics"], ctx)
    ]
    return {
        "metrics": {
            "warp_error": float(nanmean(curve)),
            "loop_closure_error": float(nanmean(loops)),
            "revisits": float(len(loops)),
        },
        "curves": {"warp_error": curve},
    }


def evaluate(model, cases, preds, ctx: SuiteContext) -> dict:
    """Average of `score_case` over cases (needs the TRUTH above)."""
    require_truth(NAME, TRUTH, cases)
    return average([score_case(c, p) for c, p in zip(cases, preds)])
