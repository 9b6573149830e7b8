"""Validity of every eval suite: truth at the ceiling, known corruptions lower, baselines ranked.

Runs on the ray-cast toy world (evals/toyworld.py) at 32x32, so each suite is checked in seconds on
a CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import evals.toyworld  # noqa: F401  (registers worldsim/EvalToy-v0)
from envs.make import EnvConfig
from evals.baselines import make_baseline
from evals.corruptions import ALL_CORRUPTIONS, CorruptedReplay
from evals.generate import autoregressive
from evals.run import SUITE_NAMES, suite_module
from evals.scenarios import ScenarioConfig, load_cases
from evals.suite import SuiteContext
from worldsim.models.idm import IDMConfig, train_idm

TOY = "worldsim/EvalToy-v0"
BASELINE_ROWS = ("ground_truth", "copy_last", "linear", "noise")


@pytest.fixture(scope="module")
def one_thread():
    """Small convs on 2 shared cores run far faster single-threaded."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def scenario(tmp_path_factory, **kwargs) -> ScenarioConfig:
    cache = tmp_path_factory.getbasetemp() / "eval_scenarios"
    return ScenarioConfig(
        env=EnvConfig(id=TOY, width=32, height=32, kwargs=kwargs),
        episodes=6,
        context=4,
        horizon=16,
        cache=str(cache),
    )


@pytest.fixture(scope="module")
def idm(tmp_path_factory, one_thread):
    """An IDM trained on 96 training-seed toy episodes (the suites score held-out seeds)."""
    cfg = scenario(tmp_path_factory)
    train = load_cases(
        ScenarioConfig(env=cfg.env, episodes=96, context=2, horizon=18, seed=0, cache=cfg.cache)
    )
    return train_idm([(c.frames, c.actions) for c in train], IDMConfig(steps=800))


def score_rows(suite: str, cfg: ScenarioConfig, ctx: SuiteContext) -> dict[str, float]:
    module, cases = suite_module(suite), load_cases(cfg)
    rows = {name: make_baseline(name) for name in BASELINE_ROWS}
    rows.update({name: CorruptedReplay(name, cfg) for name in ALL_CORRUPTIONS})
    sign = 1 if module.HIGHER_IS_BETTER else -1
    return {
        name: sign
        * module.evaluate(model, cases, autoregressive(model, cases), ctx)["metrics"][
            module.PRIMARY
        ]
        for name, model in rows.items()
    }


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_suite_scores_truth_at_ceiling_corruptions_lower_and_noise_below_copy_last(
    suite, tmp_path_factory, request
):
    kwargs = (
        {"orbit": 0.3} if suite == "consistency3d" else {}
    )  # a moving camera makes views comparable
    ctx = SuiteContext(idm=request.getfixturevalue("idm") if suite == "control" else None)
    s = score_rows(
        suite, scenario(tmp_path_factory, **kwargs), ctx
    )  # higher is better after the sign flip
    module = suite_module(suite)
    assert s["noise"] < s["copy_last"] <= s["ground_truth"] + 1e-9
    for name in module.DETECTS:
        assert s[name] < s["ground_truth"], (
            f"{suite}: corruption {name} scored {s[name]} >= truth {s['ground_truth']}"
        )
    if suite in ("fidelity", "permanence", "physics"):
        exact = {"fidelity": 100.0, "permanence": 1.0, "physics": 1.0}[suite]
        assert s["ground_truth"] == pytest.approx(exact)


def test_every_corruption_is_detected_by_at_least_three_suites():
    for name in ALL_CORRUPTIONS:
        assert sum(name in suite_module(s).DETECTS for s in SUITE_NAMES) >= 3, name


def test_consistency3d_ground_truth_warp_error_is_near_zero_for_a_still_camera(tmp_path_factory):
    module, cases = suite_module("consistency3d"), load_cases(scenario(tmp_path_factory))
    truth = make_baseline("ground_truth")
    out = module.evaluate(truth, cases, autoregressive(truth, cases), SuiteContext())
    assert out["metrics"]["warp_error"] < 1e-6


def test_loop_closure_is_scored_when_an_orbiting_camera_revisits_a_view(tmp_path_factory):
    cfg = scenario(tmp_path_factory, orbit=2 * np.pi / 10)  # back to the start view every 10 frames
    module, cases = suite_module("consistency3d"), load_cases(cfg)
    rows = {n: make_baseline(n) for n in ("ground_truth", "copy_last")}
    res = {
        n: module.evaluate(m, cases, autoregressive(m, cases), SuiteContext())["metrics"]
        for n, m in rows.items()
    }
    assert res["ground_truth"]["revisits"] > 0
    assert res["ground_truth"]["loop_closure_error"] < res["copy_last"]["loop_closure_error"]


def test_control_is_not_applicable_when_actions_are_constant(tmp_path_factory):
    cases = load_cases(scenario(tmp_path_factory))
    for c in cases:
        c.actions = np.zeros_like(c.actions)
    truth = make_baseline("ground_truth")
    out = suite_module("control").evaluate(
        truth, cases, autoregressive(truth, cases), SuiteContext(idm=object())
    )
    assert out["metrics"]["action_score"] is None and "not applicable" in out["notes"][0]
