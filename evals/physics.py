"""Physics plausibility: object tracks read off generated frames vs the same reading of the truth.

Tracks are centroids of each object's largest colour component. Scored: a track score
exp(-distance / (0.05 * diagonal)) per (frame, object) (0 when the object is missing or spurious),
the fitted gravity (median vertical image acceleration over free flight, px/frame^2), bounce timing
(frames where the vertical image velocity turns from down to up), and Physics-IQ style spatial and
spatiotemporal IoU of motion masks (pixels changing by more than MOTION_THRESHOLD between frames).
Gravity and bounces are read only for objects that move in the world (truth obj_position); a
metric with nothing to measure is NaN, reported as n/a, never a stand-in value.
"""

from __future__ import annotations

import numpy as np

from evals.corruptions import ALL_CORRUPTIONS
from evals.segment import READER_TRUTH, average_read_scores, largest_component, reader_for
from evals.suite import SuiteContext, nanmean

NAME = "physics"
PRIMARY = "physics_score"  # mean of track_score and spatiotemporal_iou
HIGHER_IS_BETTER = True
DETECTS = ALL_CORRUPTIONS  # spawn only through the motion masks (the tracks follow the original)
TRUTH = READER_TRUTH  # truth the cases must hold (eval checks it before any rollout)
MIN_AREA = 3
TRACK_SCALE = 0.05  # fraction of the image diagonal at which a track error scores exp(-1)
MOTION_THRESHOLD = 24  # max channel change (0-255) that marks a pixel as moving
BOUNCE_TOLERANCE = 1  # frames
BOUNCE_SPEED = 0.5  # px/frame of vertical motion on each side of a bounce (below: jitter)
MIN_GRAVITY = 1e-3  # px/frame^2: a smaller true acceleration has no measurable gravity
MIN_WORLD_MOTION = 0.01  # metres: an object that moves less is still (its image motion is camera)


def tracks(masks: np.ndarray) -> np.ndarray:
    """(T, N, H, W) bool -> (T, N, 2) (x, y) centroids of the largest component, NaN when absent."""
    out = np.full((*masks.shape[:2], 2), np.nan)
    for t, n in np.ndindex(*masks.shape[:2]):
        if masks[t, n].sum() >= MIN_AREA:
            ys, xs = np.nonzero(largest_component(masks[t, n]))
            out[t, n] = xs.mean() + 0.5, ys.mean() + 0.5
    return out


def gravity(y: np.ndarray, bounce_frames: set[int]) -> float:
    """Median second difference of an image-y track (px/frame^2) away from bounces; NaN if too
    short."""
    acc = [
        y[t + 1] - 2 * y[t] + y[t - 1]
        for t in range(1, len(y) - 1)
        if not bounce_frames & {t - 1, t, t + 1} and np.isfinite(y[t - 1 : t + 2]).all()
    ]
    return float(np.median(acc)) if len(acc) >= 2 else float("nan")


def bounces(y: np.ndarray) -> list[int]:
    """Frames where the image-y velocity turns from down (+) to up (-)."""
    dy = np.diff(y)
    return [t for t in range(1, len(dy)) if dy[t - 1] > BOUNCE_SPEED and dy[t] < -BOUNCE_SPEED]


def motion_masks(video: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T - 1, H, W) bool: pixels that changed since the previous frame."""
    return np.abs(np.diff(video.astype(np.int16), axis=0)).max(-1) > MOTION_THRESHOLD


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else float("nan")


def moving_objects(case) -> np.ndarray:
    """(N,) bool: objects whose true world position changes over the scored window; all of them
    when the env records no positions."""
    if "obj_position" not in case.truth:
        return np.ones(len(case.objects), bool)
    pos = case.truth["obj_position"][case.context - 1 :][:, [o["id"] for o in case.objects]]
    return np.nanmax(np.abs(pos - pos[:1]), axis=(0, 2), initial=0.0) >= MIN_WORLD_MOTION


def fall_and_bounce(ref_y: np.ndarray, gen_y: np.ndarray) -> dict:
    """Gravity relative error, bounce timing and bounce F1 of moving objects' image-y tracks (T, N).

    Each is NaN (n/a) where undefined: gravity without a measurable true and generated fall,
    timing without a generated bounce (a miss counts in the F1), F1 without any bounce.
    """
    g_err, timing, hits, n_ref, n_gen = [], [], 0, 0, 0
    for n in range(ref_y.shape[1]):
        b_ref, b_gen = bounces(ref_y[:, n]), bounces(gen_y[:, n])
        g_ref = gravity(ref_y[:, n], set(b_ref))
        g_gen = gravity(gen_y[:, n], set(b_ref) | set(b_gen))
        if np.isfinite(g_ref) and abs(g_ref) > MIN_GRAVITY and np.isfinite(g_gen):
            g_err.append(abs(g_gen - g_ref) / abs(g_ref))
        for b in b_ref if b_gen else []:
            timing.append(min(abs(b - c) for c in b_gen))
            hits += timing[-1] <= BOUNCE_TOLERANCE
        n_ref, n_gen = n_ref + len(b_ref), n_gen + len(b_gen)
    return {
        "gravity_rel_error": float(nanmean(g_err)),
        "bounce_timing_error": float(nanmean(timing)),
        "bounce_f1": 2 * hits / (n_ref + n_gen) if n_ref + n_gen else float("nan"),
    }


def score_case(case, pred: np.ndarray) -> dict:
    """Track score, track error, gravity error, bounce timing and motion-mask IoUs for one case."""
    reader, ctx = reader_for(case), case.context
    ref_video = case.frames[ctx - 1 :]  # last context frame first, for velocities at the first step
    gen_video = np.concatenate([case.frames[ctx - 1 : ctx], pred])
    ref_tr = tracks(reader.masks(ref_video))  # (1 + horizon, N, 2)
    gen_tr = tracks(reader.masks(gen_video))
    diag = float(np.hypot(*case.frames.shape[1:3]))
    dist = np.linalg.norm(ref_tr - gen_tr, axis=-1)[1:]  # (horizon, N)
    ref_on, gen_on = np.isfinite(ref_tr[1:, :, 0]), np.isfinite(gen_tr[1:, :, 0])
    step = np.where(
        ref_on & gen_on, np.exp(-np.nan_to_num(dist, nan=np.inf) / (TRACK_SCALE * diag)), 0.0
    )
    step = np.where(ref_on | gen_on, step, np.nan)  # neither sees the object: not scored
    moving = moving_objects(case)  # gravity and bounces of still objects are camera motion
    m_ref, m_gen = motion_masks(ref_video), motion_masks(gen_video)  # (horizon, H, W)
    st_iou = float(nanmean([_iou(a, b) for a, b in zip(m_ref, m_gen)]))
    return {
        "metrics": {
            "physics_score": float(nanmean([nanmean(step), st_iou])),  # of those defined
            "track_score": float(nanmean(step)),
            "track_error_px": float(nanmean(np.where(ref_on & gen_on, dist, np.nan))),
            **fall_and_bounce(ref_tr[:, moving, 1], gen_tr[:, moving, 1]),
            "spatial_iou": _iou(m_ref.any(0), m_gen.any(0)),
            "spatiotemporal_iou": st_iou,
        },
        "curves": {"track_score": nanmean(step, axis=1).tolist()},
    }


def evaluate(model, cases, preds, ctx: SuiteContext) -> dict:
    """Average of `score_case` over cases (instance truth calibrates the colour reader)."""
    return average_read_scores(NAME, score_case, cases, preds)
