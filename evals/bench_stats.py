"""Bench statistics: means over cases with 95% percentile-bootstrap intervals, and paired
differences between two runs. Pure and seeded; NaN (n/a) values are dropped, never filled."""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000  # bootstrap resamples of the cases
LEVEL = 0.95  # interval coverage


def _finite(values) -> np.ndarray:
    v = np.asarray(values, np.float64)
    return v[np.isfinite(v)]


def bootstrap_interval(
    values, seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of the finite `values`; NaN with fewer than 2."""
    v = _finite(values)
    if len(v) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (resamples, len(v)))].mean(1)  # (resamples,)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def summarise(values, seed: int = 0) -> dict:
    """{mean, lo, hi, n}: the mean over cases where the metric is defined (n of them) and its
    interval; None (n/a) where undefined."""
    v = _finite(values)
    mean = float(v.mean()) if len(v) else float("nan")
    lo, hi = bootstrap_interval(v, seed)
    return {"mean": _none(mean), "lo": _none(lo), "hi": _none(hi), "n": int(len(v))}


def paired_difference(a: dict[str, float], b: dict[str, float], seed: int = 0) -> dict:
    """Mean of b - a over cases where both are defined, its interval, and whether the interval
    excludes 0 (`significant`; None when the interval is n/a)."""
    common = [k for k in a if k in b and np.isfinite(a[k]) and np.isfinite(b[k])]
    diff = np.array([b[k] - a[k] for k in common], np.float64)
    out = summarise(diff, seed)
    out["significant"] = None if out["lo"] is None else bool(out["lo"] > 0 or out["hi"] < 0)
    return out
