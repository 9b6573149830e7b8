"""The bench's violation-of-expectation score per case: the share of its possible/impossible
pairs (evals/voe_pairs.py) where the row finds the impossible clip more surprising (ties 1/2)."""

from __future__ import annotations

from functools import partial

from evals.bench_cases import BenchCase
from evals.voe import Surprises, case_accuracy, model_surprises, truth_surprises
from evals.voe_pairs import make_pairs

METRIC = "voe.accuracy"


def surprises_of(row: str, model, device: str = "cpu") -> Surprises:
    """The simulator's surprise (re-simulation residual) for the ground-truth row; the model's
    own (flow-matching loss of a world model, else its prediction error) for any other row."""
    if row == "ground_truth":
        return truth_surprises
    return partial(model_surprises, model, device=device)


def voe_scores(row: str, model, cases: list[BenchCase], device: str = "cpu") -> dict[str, float]:
    """case_id -> voe.accuracy for the cases that feed the voe suite (NaN: no pair applies)."""
    surprises = surprises_of(row, model, device)
    return {
        c.case_id: case_accuracy(surprises, c.case, make_pairs(c.case))
        for c in cases
        if "voe" in c.spec.suites
    }
