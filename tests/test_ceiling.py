"""Physical-variance ceiling: replays are exact, perturbed runs spread, the truth normalises to
100 % and a corruption below it; a ceiling without spread is n/a."""

from __future__ import annotations

import numpy as np
import pytest

from envs.make import EnvConfig
from evals.bench_score import score_case
from evals.ceiling import PERFECT, normalised, perturbed_futures
from evals.corruptions import teleport
from evals.resim import case_env, replay
from evals.scenarios import ScenarioConfig, load_cases

SUITES = ("physics", "permanence")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    env = EnvConfig(id="worldsim/MujocoBounce-v0", width=32, height=32)
    cfg = ScenarioConfig(
        env=env, episodes=1, context=4, horizon=8, cache=str(tmp_path_factory.mktemp("c"))
    )
    return load_cases(cfg)[0]


def test_unperturbed_replay_is_the_recording(case):
    env = case_env(case)
    frames, instance = replay(env, case)
    env.close()
    assert np.array_equal(frames, case.frames)
    assert np.array_equal(instance, case.truth["instance"])


def test_truth_is_at_the_ceiling_and_a_corruption_below(case):
    runs = perturbed_futures(case, runs=2)
    assert len(runs) == 2 and runs[0].shape == case.future.shape
    assert not np.array_equal(runs[0], case.future)  # the perturbation is seen
    assert np.array_equal(runs[0], perturbed_futures(case, runs=1)[0])  # seeded
    scored = [score_case(case, r, SUITES) for r in runs]
    ceiling = {m: float(np.nanmean([s[m] for s in scored])) for m in scored[0]}
    truth = score_case(case, case.future, SUITES)
    at_truth = [normalised(m, truth[m], ceiling[m]) for m in truth if m in PERFECT]
    assert all(v == 1.0 for v in at_truth if np.isfinite(v)) and np.isfinite(at_truth).any()
    bad = score_case(case, teleport(case)[case.context :], SUITES)
    m = "physics.physics_score"
    assert normalised(m, bad[m], ceiling[m]) < 1.0


def test_degenerate_or_undefined_ceiling_is_nan():
    assert np.isnan(normalised("physics.spatial_iou", 0.5, 1.0))  # no spread
    assert np.isnan(normalised("physics.spatial_iou", float("nan"), 0.9))
    assert np.isnan(normalised("fidelity.psnr", 20.0, 30.0))  # not normalised
    assert normalised("physics.track_error_px", 2.0, 0.5) == pytest.approx(0.25)
    assert normalised("physics.track_score", 0.6, 0.9) == pytest.approx(0.25)
