"""The bench's violation-of-expectation scores: per case, the share of its possible/impossible
pairs (evals/voe_pairs.py) where the row finds the impossible clip more surprising (ties 1/2); per
kind of violation, the same share over the pairs of that kind, with their count."""

from __future__ import annotations

from functools import partial

from evals.bench_cases import BenchCase
from evals.bench_stats import summarise
from evals.suite import nanmean
from evals.voe import Surprises, model_surprises, pair_scores, truth_surprises
from evals.voe_pairs import KINDS, make_pairs

METRIC = "voe.accuracy"

CaseScores = dict[str, dict[str, float]]  # case_id -> kind -> pair score (one pair per kind)


def surprises_of(row: str, model, device: str = "cpu") -> Surprises:
    """The simulator's surprise (re-simulation residual) for the ground-truth row; the model's
    own (flow-matching loss of a world model, else its prediction error) for any other row."""
    if row == "ground_truth":
        return truth_surprises
    return partial(model_surprises, model, device=device)


def voe_pair_scores(row: str, model, cases: list[BenchCase], device: str = "cpu") -> CaseScores:
    """case_id -> {kind: pair score} for the cases that feed the voe suite ({}: no pair applies)."""
    surprises = surprises_of(row, model, device)
    out = {}
    for c in (c for c in cases if "voe" in c.spec.suites):
        pairs = make_pairs(c.case)
        out[c.case_id] = dict(zip([p.kind for p in pairs], pair_scores(surprises, c.case, pairs)))
    return out


def case_accuracies(scores: CaseScores) -> dict[str, float]:
    """case_id -> voe.accuracy, the mean over its pairs (NaN, n/a, without pairs)."""
    return {k: float(nanmean(list(kinds.values()))) for k, kinds in scores.items()}


def by_kind(scores: CaseScores, seed: int = 0) -> dict[str, dict]:
    """kind -> {mean, lo, hi, n}: accuracy over that kind's pairs (n of them, one per case, so
    the bootstrap over pairs is over cases), every kind in KINDS listed (n 0: none applied)."""
    return {
        kind: summarise([s[kind] for s in scores.values() if kind in s], seed) for kind in KINDS
    }
