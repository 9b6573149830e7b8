"""Every suite module provides the Suite protocol; oracles, and only they, are told the truth."""

from __future__ import annotations

import pytest

from evals.baselines import BASELINES, make_baseline
from evals.corruptions import ALL_CORRUPTIONS, CorruptedReplay
from evals.run import OPT_IN_SUITES, SUITE_NAMES, suite_module
from evals.scenarios import ScenarioConfig
from evals.suite import Oracle, Suite, VideoModel


@pytest.mark.parametrize("name", SUITE_NAMES + OPT_IN_SUITES)
def test_each_suite_module_is_a_suite(name):
    assert isinstance(suite_module(name), Suite)


def test_baselines_are_models_and_only_replays_are_oracles():
    oracles = {name for name in BASELINES if isinstance(make_baseline(name), Oracle)}
    assert all(isinstance(make_baseline(name), VideoModel) for name in BASELINES)
    assert oracles == {"ground_truth"}
    assert isinstance(CorruptedReplay(ALL_CORRUPTIONS[0], ScenarioConfig()), Oracle)
