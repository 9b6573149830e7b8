"""The bench's violation-of-expectation score per case: the share of its possible/impossible
pairs (evals/voe.py) where the row finds the impossible clip more surprising (ties count 1/2)."""

from __future__ import annotations

from evals.bench_cases import BenchCase
from evals.suite import nanmean
from evals.voe import copy_last_surprise, make_pairs, pair_score, surprise, truth_surprise

METRIC = "voe.accuracy"


def surprise_of(row: str, model):
    """The surprise function of a row: simulator truth for ground truth, the copy-last residual
    for copy_last, the model's own (flow-matching loss or prediction error) otherwise."""
    if row == "ground_truth":
        return truth_surprise
    if row == "copy_last":
        return copy_last_surprise
    return lambda case, clip: surprise(model, case, clip)


def voe_scores(row: str, model, cases: list[BenchCase], seed: int = 0) -> dict[str, float]:
    """case_id -> voe.accuracy for the cases that feed the voe suite (NaN: no pair applies)."""
    score = surprise_of(row, model)
    out = {}
    for c in (c for c in cases if "voe" in c.spec.suites):
        pairs = make_pairs(c.case, seed)
        out[c.case_id] = float(
            nanmean(
                [pair_score(score(c.case, p.possible), score(c.case, p.impossible)) for p in pairs]
            )
        )
    return out
