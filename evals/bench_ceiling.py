"""The bench's ceiling row and the normalised scores: the truth re-simulated with perturbations
at the simulator's own noise scale (evals/ceiling.py), scored with the same per-case code as a
model, cached per spec, split and seed; and each model metric per case relative to it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evals.bench_cases import BenchCase, case_sha256
from evals.bench_run import score_videos
from evals.bench_score import METRICS
from evals.bench_spec import BenchSpec
from evals.bench_stats import summarise
from evals.ceiling import PERTURBED_RUNS, normalised, perturbed_futures

NORMALISED_SUITES = ("permanence", "physics")  # suites whose metrics have a perfect value
NORMALISED_METRICS = [m for m in METRICS if m.split(".")[0] in NORMALISED_SUITES]


def ceiling_videos(
    cases: list[BenchCase], runs: int = PERTURBED_RUNS, seed: int = 0
) -> dict[str, list[np.ndarray]]:
    """case_id -> its perturbed re-simulated futures ([] where the env cannot be perturbed)."""
    return {c.case_id: perturbed_futures(c.case, runs, seed) for c in cases}


def ceiling_scores(
    spec: BenchSpec, split: str, cases: list[BenchCase], cache: str, seed: int = 0
) -> dict[str, dict[str, float]]:
    """case_id -> ceiling metrics (mean over runs), computed once per (spec, split, seed) and
    kept in `cache` with each case's sha256 (a changed case is recomputed)."""
    path = Path(cache) / f"ceiling-{spec.name}-{split}-seed{seed}.json"
    stored = json.loads(path.read_text()) if path.is_file() else {}
    digests = {c.case_id: case_sha256(c.case) for c in cases}
    if all(stored.get(k, {}).get("sha256") == d for k, d in digests.items()):
        return {k: _floats(stored[k]["metrics"]) for k in digests}
    scores = score_videos(cases, ceiling_videos(cases, seed=seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = {k: {"sha256": digests[k], "metrics": _nulls(v)} for k, v in scores.items()}
    path.write_text(json.dumps(entries, indent=1))
    return scores


def _nulls(metrics: dict[str, float]) -> dict:
    return {k: (v if np.isfinite(v) else None) for k, v in metrics.items()}


def _floats(metrics: dict) -> dict[str, float]:
    return {k: (float("nan") if v is None else float(v)) for k, v in metrics.items()}


def normalised_per_case(
    per_case: dict[str, dict[str, float]], ceiling: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """case_id -> metric -> the case's score normalised to its ceiling (1 = at the ceiling), for
    the permanence and physics metrics that both the case and its ceiling carry."""
    return {
        k: {
            m: normalised(m, v, ceiling[k][m])
            for m, v in scores.items()
            if m in NORMALISED_METRICS and m in ceiling.get(k, {})
        }
        for k, scores in per_case.items()
    }


def normalised_table(
    per_case: dict[str, dict[str, float]], ceiling: dict[str, dict[str, float]], seed: int = 0
) -> dict[str, dict]:
    """metric -> {mean, lo, hi, n} of the per-case normalised score (1 = at the ceiling)."""
    cases = list(normalised_per_case(per_case, ceiling).values())
    return {
        m: summarise([s[m] for s in cases if m in s], seed)
        for m in NORMALISED_METRICS
        if any(m in s for s in cases)
    }
