"""A metric with nothing to measure is n/a everywhere: suite scores, averages, rankings,
report.json, report.html and the quickstart's terminal table; never a stand-in number."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evals import physics
from evals.report import write_report
from evals.scenarios import Case
from evals.suite import average, rank_ok
from tests.test_eval_components import TOY_SCENARIO
from worldsim.jobs.quickstart import _summary

FALL = ("gravity_rel_error", "bounce_timing_error", "bounce_f1")


def bouncing_square_case(world_moves: bool, length: int = 16, context: int = 4) -> Case:
    """A red square that falls at 1 px/frame^2 and bounces at t = 7; its true world
    position follows it, or stays put (the image motion is then the camera's, as on Orbit)."""
    frames = np.zeros((length, 32, 32, 3), np.uint8)
    instance = np.full((length, 32, 32), -1, np.int16)
    position = np.zeros((length, 1, 3), np.float32)
    for t in range(length):
        s = min(t, 14 - t)  # time from the top of the arc, mirrored at the bounce
        y = 2 + s * (s - 1) // 2
        frames[t, y : y + 4, 14:18] = (255, 0, 0)
        instance[t, y : y + 4, 14:18] = 0
        position[t, 0, 2] = -y / 10 if world_moves else 0.0
    return Case(
        name="case",
        frames=frames,
        actions=np.zeros((length, 1), np.float32),
        truth={"instance": instance, "obj_position": position},
        objects=[{"id": 0, "name": "red box", "category": "box"}],
        events=[],
        prompt="",
        context=context,
        meta={},
    )


def held_still(case: Case) -> np.ndarray:
    """copy_last's prediction: the last context frame repeated, (horizon, H, W, 3)."""
    return np.repeat(case.frames[case.context - 1 : case.context], case.horizon, axis=0)


def test_fall_and_bounce_of_an_object_still_in_the_world_are_nan_not_fallbacks():
    case = bouncing_square_case(world_moves=False)
    for pred in (case.future, held_still(case)):
        metrics = physics.score_case(case, pred)["metrics"]
        assert all(np.isnan(metrics[k]) for k in FALL), metrics


def test_fall_and_bounce_of_a_moving_object_are_measured_and_a_missed_bounce_has_no_timing():
    case = bouncing_square_case(world_moves=True)
    truth = physics.score_case(case, case.future)["metrics"]
    assert [truth[k] for k in FALL] == [0.0, 0.0, 1.0]
    still = physics.score_case(case, held_still(case))["metrics"]
    assert still["gravity_rel_error"] == pytest.approx(1.0)  # no fall at all: measured
    assert still["bounce_f1"] == 0.0 and np.isnan(still["bounce_timing_error"])


def na_report() -> dict:
    """A report whose control suite is undefined for every row and physics partly so."""
    rows = ("ground_truth", "copy_last", "noise")
    control = average([{"metrics": {"action_error": float("nan")}, "curves": {}}])
    return {
        "model": "m",
        "scenario": TOY_SCENARIO,
        "suites": {
            "control": {
                "primary": "action_error",
                "higher_is_better": False,
                "ranking_ok": rank_ok({r: control["metrics"]["action_error"] for r in rows}, False),
                "rows": {r: {"metrics": control["metrics"], "curves": {}} for r in rows},
            },
            "physics": {
                "primary": "physics_score",
                "higher_is_better": True,
                "rows": {
                    r: {
                        "metrics": {"physics_score": 0.5, "bounce_f1": float("nan")},
                        "curves": {"track_score": [0.5, float("nan")]},
                    }
                    for r in rows
                },
            },
        },
        "videos": [],
        "videos_legend": "",
    }


def test_undefined_metrics_read_na_in_json_html_and_the_terminal_table(tmp_path):
    report = na_report()
    assert report["suites"]["control"]["ranking_ok"] is None
    json_path, html_path = write_report(report, tmp_path)
    saved = json.loads(json_path.read_text())  # strict JSON: NaN would not be valid
    assert saved["suites"]["physics"]["rows"]["noise"]["metrics"]["bounce_f1"] is None
    assert saved["suites"]["physics"]["rows"]["noise"]["curves"]["track_score"] == [0.5, None]
    page = html_path.read_text()
    assert "control n/a" in page and "VIOLATED" not in page and "nan" not in page.lower()
    table = _summary(saved)
    assert "control n/a" in table and "nan" not in table.lower() and "VIOLATED" not in table
    assert "action_error ↓" in table and "physics_score ↑" in table
