"""One bench row: a model's (or a folder's) predictions for every case of a split, scored per case
and summarised with bootstrap intervals, overall and per group."""

from __future__ import annotations

import datetime
from collections import defaultdict

import numpy as np

from evals.bench_cases import BenchCase
from evals.bench_score import METRICS, SCORERS, score_case
from evals.bench_spec import BenchSpec
from evals.bench_stats import LEVEL, RESAMPLES, summarise
from evals.generate import autoregressive
from evals.suite import VideoModel, nanmean
from evals.voe import world_model


def predict(
    model: VideoModel, cases: list[BenchCase], batch_size: int = 4, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """case_id -> (horizon, H, W, 3) uint8 prediction; batches never mix groups (shapes differ)."""
    by_group: dict[str, list[BenchCase]] = defaultdict(list)
    for c in cases:
        by_group[c.spec.group].append(c)
    out = {}
    for group in by_group.values():
        preds = autoregressive(model, [c.case for c in group], batch_size, device)
        out.update({c.case_id: p for c, p in zip(group, preds)})
    return out


def unsupported_groups(model: VideoModel, cases: list[BenchCase]) -> dict[str, str]:
    """group -> why `model` cannot predict its cases: a world model takes per-frame actions no
    wider than those it was trained on (action_dim / time_factor); any other model takes all."""
    module = world_model(model)
    if module is None or not module.model_cfg.action_dim:
        return {}
    width = module.model_cfg.action_dim // module.latent_info.time_factor
    return {
        c.spec.group: f"its actions are {c.case.actions.shape[-1]} wide, the model takes {width}"
        for c in cases
        if c.case.actions.shape[-1] > width
    }


def score_videos(
    cases: list[BenchCase], videos: dict[str, list[np.ndarray]]
) -> dict[str, dict[str, float]]:
    """case_id -> metrics, each the mean over that case's videos (one for a model; the perturbed
    re-simulations for the ceiling; none: every metric n/a)."""
    out = {}
    for c in cases:
        scores = [score_case(c.case, v, c.spec.suites) for v in videos[c.case_id]]
        suites = [s for s in c.spec.suites if s in SCORERS]
        keys = [m for m in METRICS if m.split(".")[0] in suites]
        out[c.case_id] = {k: float(nanmean([s.get(k, np.nan) for s in scores])) for k in keys}
    return out


def _table(per_case: dict[str, dict[str, float]], seed: int) -> dict[str, dict]:
    """metric -> {mean, lo, hi, n} over the cases that feed it."""
    return {
        m: summarise([s[m] for s in per_case.values() if m in s], seed)
        for m in METRICS
        if any(m in s for s in per_case.values())
    }


def summarise_run(
    spec: BenchSpec,
    split: str,
    row: str,
    cases: list[BenchCase],
    per_case: dict[str, dict[str, float]],
    seed: int = 0,
) -> dict:
    """The results JSON of one row: spec, split, summary and per-group tables, per-case scores."""
    groups = {
        g.name: _table(
            {c.case_id: per_case[c.case_id] for c in cases if c.spec.group == g.name}, seed
        )
        for g in spec.groups
    }
    return {
        "bench": spec.name,
        "version": spec.version,
        "split": split,
        "model": row,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "cases": len(cases),
        "interval": f"{LEVEL:.0%} percentile bootstrap over cases, {RESAMPLES} resamples, "
        f"seed {seed}",
        "higher_is_better": dict(METRICS),
        "summary": _table(per_case, seed),
        "groups": groups,
        "per_case": {
            c.case_id: {"group": c.spec.group, "metrics": per_case[c.case_id]} for c in cases
        },
    }
