"""ViZDoom env: Gymnasium checks, camera truth (turns, reprojection, depth), labels, recording."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("vizdoom")

import gymnasium as gym
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.doom.camera import extrinsics, intrinsics
from envs.doom.env import ACTION_NAMES
from envs.make import EnvConfig
from envs.resize import resize_nearest, resize_rgb, scale_intrinsics
from worldsim.data.record import record_episodes
from worldsim.data.store import EpisodeStore

TURN_LEFT = ACTION_NAMES.index("turn_left")


def make(env_id: str = "worldsim/DoomMyWayHome-v0", **kwargs):
    return gym.make(env_id, **{"width": 160, "height": 120, **kwargs})


def relative_yaw(e0: np.ndarray, e1: np.ndarray) -> float:
    """Degrees the camera turned left (about world up) from extrinsics e0 to e1."""
    f0, f1 = e0[2, :3], e1[2, :3]  # forward axes in world coordinates
    return float(np.degrees(np.arctan2(f0[0] * f1[1] - f0[1] * f1[0], f0 @ f1)))


def warp_error(
    src: np.ndarray,
    dst: np.ndarray,
    depth_dst: np.ndarray,
    k: np.ndarray,
    e_src: np.ndarray,
    e_dst: np.ndarray,
) -> float:
    """Mean abs colour error of `dst` against `src` warped into dst's view by depth and poses."""
    h, w = depth_dst.shape
    v, u = np.mgrid[0:h, 0:w] + 0.5
    pix = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3)  # (HW, 3)
    cam = (np.linalg.inv(k) @ pix.T) * depth_dst.reshape(1, -1)  # (3, HW) points in dst camera
    world = np.linalg.inv(e_dst) @ np.vstack([cam, np.ones((1, cam.shape[1]))])
    proj = k @ (e_src @ world)[:3]
    us, vs = proj[0] / proj[2], proj[1] / proj[2]
    ok = (
        (proj[2] > 0)
        & (us >= 0)
        & (us < w)
        & (vs >= 0)
        & (vs < h)
        & np.isfinite(depth_dst.reshape(-1))
    )
    sampled = src[vs[ok].astype(int), us[ok].astype(int)].astype(np.float32)
    return float(np.abs(sampled - dst.reshape(-1, 3)[ok].astype(np.float32)).mean())


def test_doom_env_passes_gymnasium_check_env():
    env = make(width=64, height=48)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_turn_by_known_angle_rotates_extrinsics_by_that_angle():
    env = make(turn_degrees=10.0)
    _, info = env.reset(seed=1)
    e0 = info["truth"].extrinsics
    for k in range(1, 4):
        _, _, _, _, info = env.step(TURN_LEFT)
        e1 = info["truth"].extrinsics
        assert relative_yaw(e0, e1) == pytest.approx(10.0 * k, abs=0.05)
        centre0 = -e0[:3, :3].T @ e0[:3, 3]
        centre1 = -e1[:3, :3].T @ e1[:3, 3]
        np.testing.assert_allclose(
            centre1[:2], centre0[:2], atol=1e-4
        )  # a turn does not move the camera
    env.close()


@pytest.mark.parametrize("size", [(160, 120), (80, 60)])
def test_pure_turn_reprojection_matches_next_frame_and_beats_wrong_pose(size):
    env = make(width=size[0], height=size[1], render_weapon=False, turn_degrees=6.0)
    obs0, info0 = env.reset(seed=2)
    obs1, _, _, _, info1 = env.step(TURN_LEFT)
    t0, t1 = info0["truth"], info1["truth"]
    right = warp_error(obs0, obs1, t1.depth, t1.intrinsics, t0.extrinsics, t1.extrinsics)
    no_turn = warp_error(obs0, obs1, t1.depth, t1.intrinsics, t1.extrinsics, t1.extrinsics)
    position = -t0.extrinsics[:3, :3].T @ t0.extrinsics[:3, 3]
    yaw0 = np.degrees(np.arctan2(t0.extrinsics[2, 1], t0.extrinsics[2, 0]))
    opposite = warp_error(
        obs0, obs1, t1.depth, t1.intrinsics, extrinsics(position, yaw0 + 12.0), t1.extrinsics
    )
    assert right < 0.5 * min(no_turn, opposite), (right, no_turn, opposite)
    assert right < 12.0
    env.close()


def test_labels_map_to_masks_that_match_projected_positions_and_depth():
    env = make("worldsim/DoomHealthGathering-v0", render_weapon=False)
    _, info = env.reset(seed=0)
    table = env.unwrapped.object_table()
    checked = 0
    for _ in range(12):
        truth = info["truth"]
        state = env.unwrapped.game.get_state()
        rows = {lab.object_id: lab for lab in state.labels}
        for row in np.nonzero(truth.objects.visible > 0)[0]:
            mask = truth.instance == row
            cam = (truth.extrinsics @ np.r_[truth.objects.position[row], 1.0])[:3]
            u = (truth.intrinsics @ cam)[0] / cam[2]
            x0, _, x1, _ = truth.objects.bbox[row]
            if x0 == 0 or x1 == truth.instance.shape[1]:
                continue  # cut by the image border: the mask does not hold the whole sprite
            assert x0 - 1 <= u <= x1 + 1
            if 1.0 < cam[2] < 10.0:  # ViZDoom's sprite depth is exact only at short range
                assert np.median(truth.depth[mask]) == pytest.approx(cam[2], rel=0.1)
            checked += 1
        for obj_id, lab in rows.items():  # ViZDoom's own label boxes agree with the instance masks
            row = env.unwrapped._index_of.get(obj_id)
            if row is not None and truth.objects.visible[row] > 0:
                x0, y0, x1, y1 = truth.objects.bbox[row]
                assert (x0, y0, x1 - x0, y1 - y0) == (lab.x, lab.y, lab.width, lab.height)
        assert all(table[r].category == "Medikit" for r in np.unique(truth.instance) if r >= 0)
        _, _, _, _, info = env.step(TURN_LEFT)
    assert checked >= 5
    env.close()


def test_resizing_keeps_truth_consistent():
    rgb = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    labels = np.zeros((120, 160), np.int16)
    labels[30:60, 40:80] = 3
    small = resize_nearest(labels, 80, 60)
    assert resize_rgb(rgb, 80, 60).shape == (60, 80, 3)
    assert np.argwhere(small == 3).min(0).tolist() == [15, 20] and np.argwhere(small == 3).max(
        0
    ).tolist() == [29, 39]
    k = intrinsics(160, 120, 90.0)
    k_small = scale_intrinsics(k, (160, 120), (80, 60))
    point = np.array([0.3, -0.2, 2.0])
    uv, uv_small = (k @ point)[:2] / 2.0, (k_small @ point)[:2] / 2.0
    np.testing.assert_allclose(uv_small, uv / 2.0, rtol=1e-6)


def test_scripted_explorer_moves_and_returns_to_a_seen_place():
    env = make(width=64, height=48)
    env.reset(seed=3)
    positions, modes = [], set()
    for _ in range(400):
        _, _, term, trunc, info = env.step(env.unwrapped.scripted_action())
        e = info["truth"].extrinsics
        positions.append(-e[:3, :3].T @ e[:3, 3])
        modes.add(env.unwrapped._explorer.mode)
        if term or trunc:
            break
    positions = np.array(positions)
    assert np.linalg.norm(positions.max(0) - positions.min(0)) > 3.0  # metres explored
    assert {"return", "look"} <= modes
    env.close()


def test_rollout_writes_doom_episodes_with_truth_and_captions(tmp_path):
    cfg = EnvConfig(id="worldsim/DoomMyWayHome-v0", width=64, height=48)
    record_episodes(cfg, str(tmp_path), episodes=2, steps=40, policy="scripted", progress=False)
    store = EpisodeStore(tmp_path)
    assert store.verify_all() == []
    ep = store.load(store.names()[0])
    assert ep.truth["depth"].shape == (40, 48, 64) and ep.truth["instance"].dtype == np.int16
    assert ep.captions["long"].startswith("First-person view in Doom") and ep.captions["windows"]
    assert ep.captions["prompt"] == "find the way through the maze"
