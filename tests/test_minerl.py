"""MineRL adapter against a fake env with MineRL 1.0's documented observation/action structure."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.make import EnvConfig
from envs.minerl import env as minerl_env
from envs.minerl.actions import BUTTONS, MineRLCodec
from worldsim.data.record import collect_episode


class FakeMineRL:
    """Old-Gym MineRL 1.0 env: obs {"pov": (360, 640, 3) uint8}, dict actions, 4-tuple steps."""

    def __init__(self, episode_steps: int = 30):
        self.episode_steps, self.actions, self.seeds = episode_steps, [], []

    def seed(self, seed):
        self.seeds.append(seed)

    def _obs(self):
        pov = np.zeros((360, 640, 3), np.uint8)
        pov[..., 0] = int(self.yaw) % 256  # the view changes with the camera
        pov[:, :320, 1] = 200
        return {"pov": pov}

    def reset(self):
        self.t, self.yaw = 0, 0.0
        return self._obs()

    def step(self, action):
        assert set(action) == set(BUTTONS) | {"camera"}, sorted(action)
        camera = np.asarray(action["camera"])
        assert camera.shape == (2,) and np.all(np.abs(camera) <= 180)
        assert all(action[b] in (0, 1) for b in BUTTONS)
        self.actions.append(action)
        self.t += 1
        self.yaw += float(camera[1])
        return self._obs(), float(action["attack"]), self.t >= self.episode_steps, {}

    def close(self):
        pass


@pytest.fixture
def fake(monkeypatch):
    made = []
    monkeypatch.setattr(
        minerl_env, "make_minerl", lambda minerl_id: made.append(FakeMineRL()) or made[-1]
    )
    return made


def test_minerl_ids_register_without_importing_minerl():
    code = (
        "import sys, gymnasium as gym, envs; "
        "print('minerl' in sys.modules, 'worldsim/MineRLFindCave-v0' in gym.registry)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def test_making_a_minerl_env_without_minerl_names_java_and_the_install():
    try:
        import minerl  # noqa: F401

        pytest.skip("minerl is installed here")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="Java 8"):
        gym.make("worldsim/MineRLFindCave-v0", width=64, height=36)


def test_adapter_resizes_pov_and_passes_complete_action_dicts(fake):
    env = gym.make("worldsim/MineRLFindCave-v0", width=64, height=36)
    obs, info = env.reset(seed=3)
    assert obs.shape == (36, 64, 3) and obs.dtype == np.uint8
    assert fake[0].seeds == [3]
    assert info["truth"].intrinsics[1, 1] == pytest.approx(18 / np.tan(np.radians(35)), rel=1e-5)
    obs, reward, term, trunc, _ = env.step(
        {"attack": 1, "camera": np.array([0.0, 90.0], np.float32)}
    )
    sent = fake[0].actions[-1]
    assert sent["attack"] == 1 and sent["forward"] == 0 and sent["camera"].tolist() == [0.0, 90.0]
    assert (
        reward == 1.0
        and not term
        and obs[0, 0, 0] == 90
        and obs[0, 0, 1] == 200
        and obs[0, -1, 1] == 0
    )


def test_rollout_of_the_adapter_writes_a_valid_episode(fake):
    cfg = EnvConfig(id="worldsim/MineRLFindCave-v0", width=64, height=36)
    env = gym.make(cfg.id, width=64, height=36)
    episode = collect_episode(env, seed=0, steps=50, policy="random", env_cfg=cfg)
    episode.validate()
    assert episode.length == 31 and episode.terminated[-1]  # the fake ends after 30 steps
    assert episode.actions.shape == (31, len(BUTTONS) + 2)
    assert isinstance(episode.raw_actions[1]["camera"], list)
    assert episode.captions["prompt"] == "find a cave"


def test_codec_round_trips_buttons_and_camera():
    codec = MineRLCodec()
    rng = np.random.default_rng(0)
    for _ in range(20):
        action = {b: int(rng.integers(2)) for b in BUTTONS}
        action["camera"] = rng.uniform(-180, 180, 2).astype(np.float32)
        back = codec.decode(codec.encode(action))
        assert {b: back[b] for b in BUTTONS} == {b: action[b] for b in BUTTONS}
        np.testing.assert_allclose(back["camera"], action["camera"], atol=1e-4)
    assert not codec.encode(codec.noop()).any()
