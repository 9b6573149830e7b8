"""VPT contractor format (mp4 + jsonl) -> episode store round trip through `worldsim import-vpt`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from envs.minerl.actions import BUTTONS, MineRLCodec
from envs.minerl.camera import extrinsics
from worldsim.cli import main
from worldsim.data.store import EpisodeStore
from worldsim.video import write_video

T = 12
CODEC = MineRLCodec()


def line(t: int, keys=(), buttons=(), new_buttons=(), dx=0.0, dy=0.0, hotbar=0, gui=False) -> dict:
    """One jsonl line with the fields contractor recordings carry."""
    return {
        "mouse": {
            "x": 640.0,
            "y": 360.0,
            "dx": dx,
            "dy": dy,
            "scaledX": dx,
            "scaledY": dy,
            "dwheel": 0.0,
            "buttons": list(buttons),
            "newButtons": list(new_buttons),
        },
        "keyboard": {"keys": list(keys), "newKeys": [], "chars": ""},
        "isGuiOpen": gui,
        "isGuiInventory": gui,
        "hotbar": hotbar,
        "yaw": 10.0 * t,
        "pitch": -5.0,
        "xpos": 1.0 + t,
        "ypos": 64.0,
        "zpos": -3.0,
        "tick": t,
        "milli": 1_650_000_000_000 + 50 * t,
        "inventory": [],
        "serverTick": t,
        "serverTickDurationMs": 12.0,
        "stats": {},
    }


@pytest.fixture
def recording(tmp_path):
    """A 12-frame 640x360 recording: distinct frames and a scripted mix of inputs."""
    src = tmp_path / "vpt"
    src.mkdir()
    frames = np.zeros((T, 360, 640, 3), np.uint8)
    for t in range(T):
        frames[t, :, :320] = (20 * t, 100, 200 - 10 * t)  # left half changes colour frame by frame
        frames[t, :, 320:] = (240, 240 - 15 * t, 30)
    write_video(src / "cheeky-cornflower-setter-abc123.mp4", frames, fps=20)
    lines = [line(t, hotbar=2 if t >= 4 else 0) for t in range(T)]
    lines[0] = line(
        0, buttons=[0], new_buttons=[0]
    )  # attack held from the start: VPT's "stuck attack"
    lines[1] = line(1, keys=["key.keyboard.w"], buttons=[0], dx=40.0, dy=-20.0)
    lines[2] = line(
        2, keys=["key.keyboard.w", "key.keyboard.space"], buttons=[0], new_buttons=[0]
    )  # real attack
    lines[3] = line(3, keys=["key.keyboard.left.control", "key.keyboard.unbound"], buttons=[1])
    lines[4] = line(4, hotbar=2)  # scroll wheel to slot 3
    lines[5] = line(5, hotbar=2, keys=["key.keyboard.e"], gui=True, dx=5.0)
    (src / "cheeky-cornflower-setter-abc123.jsonl").write_text(
        "\n".join(json.dumps(x) for x in lines) + "\n"
    )
    return src, frames


def expected_action(t: int) -> dict:
    """The MineRL action VPT's conversion gives for line t of the fixture."""
    action = {b: 0 for b in BUTTONS} | {"camera": [0.0, 0.0]}
    on = {
        1: ["forward"],
        2: ["forward", "jump", "attack"],
        3: ["sprint", "use"],
        4: ["hotbar.3"],
        5: ["inventory"],
    }.get(t, [])
    action.update({b: 1 for b in on})
    action["camera"] = {1: [-3.0, 6.0], 5: [0.0, 0.75]}.get(t, [0.0, 0.0])  # (dy, dx) * 360 / 2400
    return action


def test_vpt_import_round_trips_frames_actions_and_poses(recording, tmp_path):
    src, frames = recording
    out = tmp_path / "store"
    assert main(["import-vpt", f"src={src}", f"out={out}", "width=64", "height=36"]) == 0
    store = EpisodeStore(out)
    assert store.names() == ["cheeky-cornflower-setter-abc123_000"] and store.verify_all() == []
    ep = store.load(store.names()[0])
    assert ep.frames.shape == (T, 36, 64, 3)
    small = frames[:, ::10, ::10].reshape(T, 36, 64, 3).astype(np.float32)
    assert (
        np.abs(ep.frames[:, 4:-4, 4:28].astype(np.float32) - small[:, 4:-4, 4:28]).mean() < 6
    )  # codec loss only
    assert not ep.actions[0].any()  # actions[0] is the no-op
    for t in range(1, T):  # actions[t] is the action recorded with frame t - 1
        want = expected_action(t - 1)
        np.testing.assert_allclose(
            ep.actions[t], CODEC.encode(want), atol=1e-6, err_msg=f"frame {t}"
        )
        assert ep.raw_actions[t] == want
    pose = np.array([[1.0 + t, 64.0, -3.0, 10.0 * t, -5.0] for t in range(T)], np.float32)
    np.testing.assert_allclose(ep.truth["extra_pose"], pose)
    np.testing.assert_allclose(
        ep.truth["extrinsics"][3], extrinsics(pose[3, :3], 30.0, -5.0), atol=1e-5
    )
    assert ep.truth["extra_gui_open"][5] == 1 and ep.meta["fps"] == 20
    assert "walks forward" in ep.captions["long"] and ep.captions["prompt"] == "play Minecraft"


def test_vpt_import_cuts_episodes_skips_null_actions_and_resumes(recording, tmp_path, capsys):
    src, _ = recording
    out = tmp_path / "store"
    args = [
        "import-vpt",
        f"src={src}",
        f"out={out}",
        "width=32",
        "height=18",
        "episode_frames=4",
        "skip_null=true",
    ]
    assert main(args) == 0
    store = EpisodeStore(out)
    kept = [
        1,
        2,
        3,
        4,
        5,
    ]  # lines 0 and 6.. do nothing (line 0's attack was stuck), so VPT drops them
    assert store.names() == [
        "cheeky-cornflower-setter-abc123_000",
        "cheeky-cornflower-setter-abc123_001",
    ]
    first, second = (store.load(n) for n in store.names())
    assert first.meta["source_frames"] == kept[:4] and second.meta["source_frames"] == kept[4:]
    np.testing.assert_allclose(first.actions[1], CODEC.encode(expected_action(1)), atol=1e-6)
    assert main(args) == 0
    assert "wrote 0 episodes" in capsys.readouterr().out


def test_pose_extrinsics_follow_minecraft_axes():
    # yaw 0 looks south (+z), yaw 90 west (-x); pitch 90 looks straight down.
    for yaw, pitch, forward in [(0, 0, [0, 0, 1]), (90, 0, [-1, 0, 0]), (0, 90, [0, -1, 0])]:
        e = extrinsics(np.zeros(3), yaw, pitch)
        np.testing.assert_allclose(e[2, :3], forward, atol=1e-6)
        np.testing.assert_allclose(e[:3, :3] @ e[:3, :3].T, np.eye(3), atol=1e-6)
        assert np.linalg.det(e[:3, :3]) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (json.dumps(line(1))[:40], "not valid JSON"),  # a truncated download
        (json.dumps({k: v for k, v in line(1).items() if k != "keyboard"}), "'keyboard'"),
        (json.dumps(line(1) | {"mouse": {"dx": "fast", "dy": 0, "buttons": []}}), "'mouse.dx'"),
        ("[1, 2]", "'mouse'"),
    ],
    ids=["truncated", "no-keyboard", "wrong-type", "not-an-object"],
)
def test_a_malformed_jsonl_line_names_the_file_and_line(bad, named, tmp_path, capsys):
    from envs.minerl.vpt import RecordingError, read_recording

    jsonl = tmp_path / "rec.jsonl"
    jsonl.write_text("\n".join([json.dumps(line(0)), bad, json.dumps(line(2))]) + "\n")
    with pytest.raises(RecordingError, match=re.escape(f"{jsonl} line 2: ") + f".*{named}"):
        read_recording(jsonl)
    write_video(tmp_path / "rec.mp4", np.zeros((3, 36, 64, 3), np.uint8), fps=20)
    assert main(["import-vpt", f"src={tmp_path}", f"out={tmp_path / 'store'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{jsonl} line 2" in err[0], err
