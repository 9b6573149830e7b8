"""Inverse dynamics model: shapes, checkpoint round trip, and that it learns to read actions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import evals.toyworld  # noqa: F401  (registers worldsim/EvalToy-v0)
from envs.make import EnvConfig
from evals.scenarios import ScenarioConfig, load_cases
from worldsim.models.idm import IDMConfig, InverseDynamics, load_idm, train_idm


def test_read_actions_gives_one_action_per_frame_after_the_first():
    idm = InverseDynamics(IDMConfig(action_dim=3))
    video = np.random.default_rng(0).integers(0, 255, (7, 24, 40, 3), dtype=np.uint8)
    assert idm.read_actions(video).shape == (6, 3)


def test_checkpoint_round_trip_reads_identical_actions(tmp_path):
    torch.manual_seed(0)
    idm = InverseDynamics(IDMConfig(action_dim=2))
    idm.save(tmp_path / "idm.pt")
    video = np.random.default_rng(1).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        load_idm(tmp_path / "idm.pt").read_actions(video), idm.read_actions(video)
    )


def test_a_save_that_fails_midway_keeps_the_previous_idm(tmp_path, monkeypatch):
    path = tmp_path / "idm.pt"
    InverseDynamics(IDMConfig(action_dim=2)).save(path)
    before = path.read_bytes()

    def cut_short(obj, f):  # a disk that fills up half way through the file
        f.write(b"PK\x03")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", cut_short)
    with pytest.raises(OSError):
        InverseDynamics(IDMConfig(action_dim=3)).save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["idm.pt"]


def test_idm_trained_on_rollouts_recovers_held_out_actions_better_than_the_mean(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        env = EnvConfig(id="worldsim/EvalToy-v0", width=32, height=32)
        train = load_cases(
            ScenarioConfig(env=env, episodes=64, context=2, horizon=14, seed=0, cache=str(tmp_path))
        )
        test = load_cases(
            ScenarioConfig(env=env, episodes=8, context=2, horizon=14, cache=str(tmp_path))
        )
        idm = train_idm([(c.frames, c.actions) for c in train], IDMConfig(steps=600))
    finally:
        torch.set_num_threads(before)
    read = np.concatenate([idm.read_actions(c.frames) for c in test])
    true = np.concatenate([c.actions[1:] for c in test])
    explained = (
        1 - ((read - true) ** 2).sum(-1).mean() / ((true - true.mean(0)) ** 2).sum(-1).mean()
    )
    assert explained > 0.2


def test_the_shipped_push_control_idm_reads_a_full_command_off_true_frames():
    from pathlib import Path

    from envs.make import make_env
    from worldsim.config import load_config, to_object
    from worldsim.jobs.record import Config as RecordConfig

    root = Path(__file__).resolve().parents[1]
    idm = load_idm(root / "worldsim" / "assets" / "idm" / "push_control.pt")
    env = make_env(to_object(load_config(RecordConfig, ["env=push_control"])).env)
    frames = [env.reset(seed=7)[0]]
    command = np.array([0.0, 1.0], np.float32)  # forward, from a standstill
    frames += [env.step(command)[0] for _ in range(4)]
    read = idm.read_actions(np.stack(frames))  # (4, 2)
    assert read.shape == (4, 2) and read[1:, 1].mean() > 0.5 > np.abs(read[1:, 0]).mean()
