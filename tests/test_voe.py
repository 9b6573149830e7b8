"""Violation of expectation: the pair generator is deterministic and its violations are seen;
the simulator's own surprise tells every pair apart; models' surprises are defined."""

from __future__ import annotations

import numpy as np
import pytest

from envs.make import EnvConfig
from evals.baselines import CopyLastFrame
from evals.scenarios import Case, ScenarioConfig, load_cases
from evals.voe import case_accuracy, flow_surprises, model_surprises, pair_score, truth_surprises
from evals.voe_pairs import KINDS, make_pairs
from tests.conftest import synthetic_episode
from tests.test_ceiling import case  # noqa: F401  (the recorded Bounce case fixture)
from tests.test_world_model import tiny_module, tiny_vae


@pytest.fixture(scope="module")
def pairs(case):  # noqa: F811
    return make_pairs(case)


def test_pairs_are_deterministic_and_their_violations_visible(case, pairs):  # noqa: F811
    again = make_pairs(case)
    assert [p.kind for p in pairs] == [p.kind for p in again] and len(pairs) >= 3
    assert {p.kind for p in pairs} <= set(KINDS)
    for p, q in zip(pairs, again):
        assert np.array_equal(p.impossible, q.impossible)
        assert np.array_equal(p.possible, case.future)
        assert p.onset >= case.context and not np.array_equal(p.impossible, p.possible)


def test_truth_surprise_tells_every_pair_apart_and_copy_last_is_scored(case, pairs):  # noqa: F811
    assert case_accuracy(truth_surprises, case, pairs) == 1.0
    copy_last = case_accuracy(
        lambda c, clips: model_surprises(CopyLastFrame(), c, clips), case, pairs
    )
    assert 0.0 <= copy_last <= 1.0
    assert np.isnan(case_accuracy(truth_surprises, case, []))
    assert pair_score(0.1, 0.2) == 1.0 and pair_score(0.2, 0.2) == 0.5
    assert np.isnan(pair_score(float("nan"), 0.2))


def test_an_object_hidden_behind_the_wall_vanishes_and_is_missed_when_it_should_reappear(tmp_path):
    env = EnvConfig(id="worldsim/MujocoOcclude-v0", width=32, height=32)
    cfg = ScenarioConfig(
        env=env, episodes=1, context=5, horizon=28, seed=2_000_000, cache=str(tmp_path)
    )
    occlude = load_cases(cfg)[0]
    pairs = [p for p in make_pairs(occlude) if p.kind == "vanish"]
    assert len(pairs) == 1 and pairs[0].onset > occlude.context
    assert case_accuracy(truth_surprises, occlude, pairs) == 1.0


def test_frame_edited_pairs_for_envs_without_a_simulator_state():
    ep = synthetic_episode(length=16, height=32, width=32)
    synthetic = Case("syn", ep.frames, ep.actions, ep.truth, ep.objects, [], "", 4, ep.meta)
    pairs = make_pairs(synthetic)
    assert [p.kind for p in pairs] == ["vanish", "teleport", "colour"]


def test_flow_surprise_is_seeded_and_defined(case, pairs, tmp_path):  # noqa: F811
    module = tiny_module()
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    clips = [pairs[0].possible, pairs[0].impossible]
    s = flow_surprises(module, case, clips)
    assert s.shape == (2,) and np.isfinite(s).all() and s[0] != s[1]
    assert np.array_equal(s, model_surprises(module, case, clips))
