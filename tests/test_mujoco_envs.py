"""MuJoCo scenes: Gymnasium compliance, determinism per seed, actions, physics knobs, renderer."""

import hashlib
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.mujoco import SCENARIOS
from envs.mujoco import render as mj_render


def run(
    env_id: str,
    seed: int,
    steps: int,
    width: int = 32,
    height: int = 32,
    policy: str = "scripted",
    **kwargs,
):
    """Frames, per-frame truths and events of one episode."""
    env = gym.make(env_id, width=width, height=height, **kwargs)
    obs, info = env.reset(seed=seed)
    frames, truths, events = [obs], [info["truth"]], []
    env.action_space.seed(seed)
    for t in range(1, steps):
        action = (
            env.unwrapped.scripted_action() if policy == "scripted" else env.action_space.sample()
        )
        obs, _, _, _, info = env.step(action)
        frames.append(obs)
        truths.append(info["truth"])
        events += [(t, e.kind, e.objects) for e in info["events"]]
    env.close()
    return np.stack(frames), truths, events


def digest(frames, truths) -> str:
    h = hashlib.sha256(frames.tobytes())
    for tr in truths:
        for arr in (
            tr.extrinsics,
            tr.intrinsics,
            tr.depth,
            tr.instance,
            tr.objects.position,
            tr.objects.velocity,
            tr.objects.visible,
        ):
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("env_id", sorted(SCENARIOS))
@pytest.mark.parametrize("mode", ["continuous", "discrete"])
def test_every_scenario_passes_gymnasium_check_env(env_id, mode):
    env = gym.make(env_id, width=24, height=16, action_mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning is a failure too
        check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", sorted(SCENARIOS))
def test_same_seed_gives_byte_identical_frames_truth_and_events(env_id):
    a_frames, a_truth, a_events = run(env_id, seed=5, steps=8, policy="random")
    b_frames, b_truth, b_events = run(env_id, seed=5, steps=8, policy="random")
    c_frames, c_truth, _ = run(env_id, seed=6, steps=8, policy="random")
    assert digest(a_frames, a_truth) == digest(b_frames, b_truth)
    assert a_events == b_events
    assert digest(a_frames, a_truth) != digest(c_frames, c_truth)


def test_truth_has_schema_shapes_at_a_non_square_size():
    frames, truths, _ = run("worldsim/MujocoBounce-v0", seed=0, steps=2, width=40, height=24)
    tr = truths[-1]
    n = len(tr.objects.visible)
    assert frames.shape == (2, 24, 40, 3) and frames.dtype == np.uint8
    assert tr.depth.shape == (24, 40) and tr.depth.dtype == np.float32
    assert tr.instance.shape == (24, 40) and tr.instance.dtype == np.int16
    assert tr.extrinsics.shape == (4, 4) and tr.intrinsics.shape == (3, 3)
    assert tr.objects.position.shape == (n, 3) and tr.objects.bbox.shape == (n, 4)
    assert set(np.unique(tr.instance)) <= {-1, *range(n)}


def test_orbit_yaw_action_turns_the_camera_and_push_action_moves_the_agent_right():
    env = gym.make("worldsim/MujocoOrbit-v0", width=32, height=32, action_mode="discrete")
    _, info = env.reset(seed=0)
    before = info["truth"].extrinsics
    names = env.unwrapped.action_codec.names
    _, _, _, _, info = env.step(names.index("yaw+"))
    assert not np.allclose(before, info["truth"].extrinsics)

    env = gym.make("worldsim/MujocoPush-v0", width=48, height=48)
    _, info = env.reset(seed=1)
    agent = len(env.unwrapped.object_table()) - 1
    assert env.unwrapped.object_table()[agent].category == "agent"
    start = info["truth"].objects.centroid[agent, 0]
    for _ in range(8):
        _, _, _, _, info = env.step(np.array([1.0, 0.0], np.float32))  # "right" in camera terms
    speed = np.linalg.norm(info["truth"].objects.velocity[agent])
    assert speed == pytest.approx(env.unwrapped.speed, rel=0.1)
    assert info["truth"].objects.centroid[agent, 0] > start + 4


def test_push_wander_holds_a_random_direction_per_segment_and_zero_keeps_the_object_script():
    actions = {}
    for wander in (0.0, 1.0):
        env = gym.make("worldsim/MujocoPush-v0", width=16, height=16, wander=wander)
        env.reset(seed=3)
        actions[wander] = []
        for _ in range(60):  # two 30-frame segments
            actions[wander].append(env.unwrapped.scripted_action())
            env.step(actions[wander][-1])
    segments = np.array(actions[1.0]).reshape(2, 30, 2)  # (segment, frame, right/forward)
    means = segments.mean(1)  # each segment one direction at full command, plus the 0.1 noise
    assert np.all(np.abs(segments - means[:, None]).max((1, 2)) < 0.5)
    assert np.all(np.abs(means).max(1) > 0.85) and not np.allclose(means[0], means[1], atol=0.2)
    env = gym.make("worldsim/MujocoPush-v0", width=16, height=16)  # the default: the bench's
    env.reset(seed=3)
    for action in actions[0.0]:
        np.testing.assert_array_equal(env.unwrapped.scripted_action(), action)
        env.step(action)
    with pytest.raises(ValueError, match="wander=1.5"):
        gym.make("worldsim/MujocoPush-v0", width=16, height=16, wander=1.5)


def test_scenes_without_actions_take_the_noop_only():
    env = gym.make("worldsim/MujocoBounce-v0", width=16, height=16)
    assert env.action_space == gym.spaces.Discrete(1)
    assert env.unwrapped.action_codec.describe()["names"] == ["noop"]


def test_restitution_knob_changes_rebound():
    """A bouncier floor throws a dropped object back higher after its first bounce."""
    peaks = []
    for e in (0.3, 0.9):
        _, truths, _ = run("worldsim/MujocoBounce-v0", seed=2, steps=30, restitution=e)
        z = np.array([t.objects.position[0, 2] for t in truths])
        first_low = int(np.argmin(z[:15]))
        peaks.append(z[first_low:].max() - z[first_low])
    assert peaks[1] > 2 * peaks[0]


def test_bad_knobs_are_rejected_with_the_value():
    with pytest.raises(ValueError, match="restitution=1.5"):
        gym.make("worldsim/MujocoBounce-v0", width=16, height=16, restitution=1.5)
    with pytest.raises(ValueError, match="action_mode='joystick'"):
        gym.make("worldsim/MujocoOrbit-v0", width=16, height=16, action_mode="joystick")


def test_backend_respects_mujoco_gl_and_names_packages_when_no_library(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert mj_render.select_backend() == "osmesa"
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setattr(mj_render.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(RuntimeError, match="libegl1.*libosmesa6"):
        mj_render.select_backend()
    monkeypatch.setattr(mj_render.ctypes.util, "find_library", lambda name: "lib" + name)
    monkeypatch.setattr(mj_render, "has_gpu", lambda: False)
    assert mj_render.select_backend() == "osmesa"  # CPU-only machine: OSMesa first
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setattr(mj_render, "has_gpu", lambda: True)
    assert mj_render.select_backend() == "egl"


@pytest.mark.parametrize("name", ["bounce", "collide", "occlude", "orbit", "push"])
def test_every_scenario_config_rolls_out_into_a_valid_store(name, tmp_path):
    from worldsim.config import load_config, to_object
    from worldsim.data.record import record_episodes
    from worldsim.data.store import EpisodeStore
    from worldsim.jobs.record import Config

    cfg = to_object(
        load_config(
            Config, [f"env={name}", "env.width=24", "env.height=16", "episodes=1", "steps=5"]
        )
    )
    assert cfg.env.id in SCENARIOS
    record_episodes(cfg.env, str(tmp_path), episodes=1, steps=5, policy="scripted", progress=False)
    store = EpisodeStore(tmp_path)
    ep = store.load("ep_000000")
    ep.validate()
    assert ep.frames.shape == (5, 16, 24, 3) and ep.captions["long"] and store.verify_all() == []


def test_a_backend_that_cannot_open_names_its_debian_package(monkeypatch):
    def broken(name):
        raise ImportError(f"cannot load {name}")

    monkeypatch.setattr(mj_render, "BACKEND", "osmesa")
    monkeypatch.setattr(mj_render.importlib, "import_module", broken)
    with pytest.raises(RuntimeError, match="MUJOCO_GL=osmesa.*apt-get install libosmesa6"):
        mj_render.SceneRenderer(16, 16)


def test_push_control_agent_follows_a_command_within_a_frame_and_stays_in_view():
    from envs.make import EnvConfig, make_env
    from worldsim.config import load_config, to_object
    from worldsim.jobs.record import Config as RecordConfig

    cfg = to_object(load_config(RecordConfig, ["env=push_control"])).env
    env = make_env(cfg)
    _, info = env.reset(seed=3)
    agent, dt = len(env.unwrapped.object_table()) - 1, env.unwrapped.physics.frame_dt
    for _ in range(3):
        _, _, _, _, info = env.step(np.array([0.0, 1.0], np.float32))  # "forward"
    step = info["truth"].objects.velocity[agent] * dt
    assert np.linalg.norm(step) == pytest.approx(3.0 * dt, rel=0.05)  # stiff: no lag
    rng = np.random.default_rng(0)
    truths = [env.step(rng.uniform(-1, 1, 2).astype(np.float32))[4]["truth"] for _ in range(60)]
    assert all(t.objects.visible[agent] > 0.5 for t in truths)  # the walls are inside the view
    with pytest.raises(ValueError, match="arena >= 1.2"):
        make_env(EnvConfig(cfg.id, kwargs={**cfg.kwargs, "arena": 0.5}))
