"""Score several models (the model under test, baselines, corrupted replays) on every suite."""

from __future__ import annotations

import importlib
from typing import Any

from tqdm import tqdm

from evals.baselines import BASELINE_PREFIX, make_baseline, require_model
from evals.generate import autoregressive
from evals.scenarios import Case
from evals.suite import Suite, SuiteContext, VideoModel, missing_truth, rank_ok
from worldsim.models.pretrained import resolve_checkpoint

SUITE_NAMES = ("fidelity", "consistency3d", "permanence", "physics", "control")
OPT_IN_SUITES = ("stability", "camera")  # run only when named: they need long or steered rollouts


def load_model(spec: str, device: str = "cpu", seed: int = 0, **sampling) -> VideoModel:
    """`baseline:NAME` -> a calibration baseline; anything else -> a DiT checkpoint path
    (`sampling`: DiTPredictor overrides such as steps, window, seed)."""
    if spec.startswith(BASELINE_PREFIX):
        return make_baseline(spec.removeprefix(BASELINE_PREFIX), seed=seed)
    require_model(spec)
    path = resolve_checkpoint(spec)  # pretrained:NAME and URLs -> a local file
    # Imported here: it loads Lightning and the DiT (seconds), which baseline-only evals never need.
    from worldsim.predictor import DiTPredictor

    return DiTPredictor.from_checkpoint(path, device=device, **sampling)


def suite_module(name: str) -> Suite:
    """The module implementing suite `name` (it provides the `Suite` protocol)."""
    if name not in SUITE_NAMES + OPT_IN_SUITES:
        raise ValueError(
            f"unknown suite {name!r}; choose one of {', '.join(SUITE_NAMES)}, all (these five), "
            f"or the opt-in {' and '.join(OPT_IN_SUITES)} (named alone or in a comma list)"
        )
    suite = importlib.import_module(f"evals.{name}")
    if not isinstance(suite, Suite):
        raise TypeError(f"evals/{name}.py lacks part of the Suite protocol of evals/suite.py")
    return suite


def suites_for_cases(names: list[str], cases: list[Case], named: bool) -> list[str]:
    """The suites of `names` whose truth the cases hold. Named one by one, a suite without its
    truth is an error (before any rollout); under `all` it is left out, with a note."""
    usable = []
    for name in names:
        missing = missing_truth(suite_module(name).TRUTH, cases)
        if not missing:
            usable.append(name)
            continue
        env = cases[0].meta.get("env_id")
        if named:
            fit = [n for n in names if not missing_truth(suite_module(n).TRUTH, cases)]
            raise ValueError(
                f"suite {name} needs truth {missing}, which env {env} does not record; "
                f"use suite={','.join(fit) or 'fidelity'} for this env"
            )
        print(f"eval: suite {name} left out: env {env} records no {', '.join(missing)}")
    return usable


def evaluate_rows(
    rows: dict[str, Any],
    cases: list[Case],
    suites: list[str],
    ctx: SuiteContext,
    bar: tqdm,
) -> tuple[dict[str, Any], dict[str, list]]:
    """The report {suite: {primary, higher_is_better, ranking_ok, rows: {row: {metrics, curves}}}}
    and each row's predictions; `bar` counts 1 + len(suites) units a row (its rollout, each
    suite's score of it)."""
    modules = [suite_module(s) for s in suites]
    report: dict[str, Any] = {
        m.NAME: {"primary": m.PRIMARY, "higher_is_better": m.HIGHER_IS_BETTER, "rows": {}}
        for m in modules
    }
    predictions = {}
    for row, model in rows.items():
        bar.set_postfix(row=row, refresh=False)
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
