"""Per-case scores of one predicted video: the same suite code as `worldsim eval`, kept per case
(the bench's statistics resample cases) and reduced to the metrics that score a model.

Scores come from the prediction alone (no further model calls), so a model run and a folder of
videos are scored by the identical path.
"""

from __future__ import annotations

import numpy as np

from evals import consistency3d, permanence, physics
from evals.fidelity import frame_scores
from evals.scenarios import Case

# "suite.metric" -> higher is better; the first of each suite is its primary metric.
METRICS: dict[str, bool] = {
    "fidelity.psnr": True,
    "fidelity.ssim": True,
    "consistency3d.warp_error": False,
    "consistency3d.loop_closure_error": False,
    "permanence.iou": True,
    "permanence.reappearance_iou": True,
    "permanence.colour_match": True,
    "permanence.disappearance_rate": False,
    "permanence.appearance_rate": False,
    "physics.physics_score": True,
    "physics.track_score": True,
    "physics.track_error_px": False,
    "physics.gravity_rel_error": False,
    "physics.bounce_timing_error": False,
    "physics.bounce_f1": True,
    "physics.spatial_iou": True,
    "physics.spatiotemporal_iou": True,
    "voe.accuracy": True,  # a model's surprise, not a video score (evals/bench_voe.py)
}


def primary(suite: str) -> str:
    """The primary metric of a suite (its first in METRICS)."""
    return next(m for m in METRICS if m.startswith(f"{suite}."))


def _fidelity(case: Case, pred: np.ndarray) -> dict[str, float]:
    scores = frame_scores(pred, case.future)
    return {k: float(v.mean()) for k, v in scores.items()}


SCORERS = {
    "fidelity": _fidelity,
    "consistency3d": lambda case, pred: consistency3d.score_case(case, pred)["metrics"],
    "permanence": lambda case, pred: permanence.score_case(case, pred)["metrics"],
    "physics": lambda case, pred: physics.score_case(case, pred)["metrics"],
}


def score_case(case: Case, pred: np.ndarray, suites: tuple[str, ...]) -> dict[str, float]:
    """{"suite.metric": value} of prediction `pred` (horizon, H, W, 3) uint8; NaN = n/a. Metrics
    of suites the case does not feed, or that score a model rather than a video, are absent."""
    if pred.shape != case.future.shape or pred.dtype != np.uint8:
        raise ValueError(
            f"case {case.name}: prediction {pred.shape} {pred.dtype}, expected "
            f"{case.future.shape} uint8 (horizon, H, W, 3)"
        )
    out = {}
    for suite in (s for s in suites if s in SCORERS):
        metrics = SCORERS[suite](case, pred)
        out.update(
            {f"{suite}.{k}": float(v) for k, v in metrics.items() if f"{suite}.{k}" in METRICS}
        )
    return out
