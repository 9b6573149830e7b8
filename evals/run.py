"""Score several models (the model under test, baselines, corrupted replays) on every suite."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from tqdm import tqdm

from evals.generate import autoregressive
from evals.scenarios import Case
from evals.suite import SuiteContext, rank_ok

SUITE_NAMES = ("fidelity", "consistency3d", "permanence", "physics", "control")


def suite_module(name: str) -> ModuleType:
    """The module implementing suite `name`."""
    if name not in SUITE_NAMES:
        raise ValueError(f"unknown suite {name!r}; choose one of {', '.join(SUITE_NAMES)} or all")
    return importlib.import_module(f"evals.{name}")


def evaluate_rows(
    rows: dict[str, Any],
    cases: list[Case],
    suites: list[str],
    ctx: SuiteContext,
    progress: bool = False,
) -> tuple[dict[str, Any], dict[str, list]]:
    """{suite: {primary, higher_is_better, ranking_ok, rows: {row: {metrics, curves}}}} and each row's predictions."""
    modules = [suite_module(s) for s in suites]
    report: dict[str, Any] = {
        m.NAME: {"primary": m.PRIMARY, "higher_is_better": m.HIGHER_IS_BETTER, "rows": {}}
        for m in modules
    }
    predictions = {}
    bar = tqdm(total=len(rows) * (1 + len(modules)), desc="eval", unit="step", disable=not progress)
    with bar:
        for row, model in rows.items():
            bar.set_postfix(row=row)
            predictions[row] = autoregressive(model, cases, ctx.batch_size, ctx.device)
            bar.update(1)
            for m in modules:
                result = m.evaluate(model, cases, predictions[row], ctx)
                report[m.NAME]["rows"][row] = {
                    "metrics": result["metrics"],
                    "curves": result["curves"],
                }
                report[m.NAME].setdefault("notes", result.get("notes", []))
                bar.update(1)
    for res in report.values():
        scores = {
            k: res["rows"][k]["metrics"][res["primary"]]
            for k in ("noise", "copy_last", "ground_truth")
            if k in res["rows"]
        }
        if len(scores) == 3 and None not in scores.values():
            res["ranking_ok"] = rank_ok(scores, res["higher_is_better"])
    return report, predictions
