"""Captions from MuJoCo truth: deterministic per seed, true to objects, events and the camera."""

import numpy as np
import pytest

from envs.captions import (
    Grammar,
    camera_motion,
    count_word,
    describe_episode,
    join,
    object_phrase,
    windows_of,
)
from envs.make import EnvConfig, make_env
from envs.mujoco.camera import OrbitPose, extrinsics
from worldsim.data.record import collect_episode


def episode(env_id: str, seed: int, steps: int = 40, **kwargs):
    cfg = EnvConfig(id=env_id, width=32, height=32, kwargs=kwargs)
    env = make_env(cfg)
    ep = collect_episode(env, seed, steps, "scripted", cfg)
    return ep, env


def test_same_seed_gives_the_same_captions_and_other_seeds_vary_the_wording():
    a, _ = episode("worldsim/MujocoBounce-v0", seed=3)
    b, _ = episode("worldsim/MujocoBounce-v0", seed=3)
    assert a.captions == b.captions
    texts = {
        episode("worldsim/MujocoBounce-v0", seed=s, steps=8)[0].captions["long"] for s in range(6)
    }
    assert len(texts) == 6


def test_caption_names_every_object_colour_and_counts_visible_bounces():
    ep, env = episode("worldsim/MujocoBounce-v0", seed=1, max_objects=1)
    text = ep.captions["long"]
    obj = ep.objects[0]
    assert obj["colour"] in text
    visible = [
        e
        for e in ep.events
        if e["kind"] == "bounce"
        and e["detail"]["surface"] == "floor"
        and e["detail"]["speed"] >= 0.8
    ]
    assert f"bounces {count_word(len(visible))}" in text
    assert "falls from" in text or "drops" in text
    assert "camera is still" in text or "view is fixed" in text


def test_windows_cover_the_episode_and_follow_their_own_events():
    ep, _ = episode("worldsim/MujocoOcclude-v0", seed=2, steps=40)
    windows = ep.captions["windows"]
    assert [(w["start"], w["end"]) for w in windows] == windows_of(40)
    for w in windows:
        hidden = any(
            e["kind"] == "occlusion_start" and w["start"] <= e["frame"] < w["end"]
            for e in ep.events
        )
        said = any(v in w["text"] for v in ("disappears behind", "passes behind", "is hidden by"))
        assert hidden == said, w


def test_prompt_is_short_and_names_the_main_object():
    ep, _ = episode("worldsim/MujocoCollide-v0", seed=0, steps=20)
    prompt = ep.captions["prompt"]
    assert len(prompt.split()) <= 10
    assert ep.objects[0]["colour"] in prompt


def test_camera_motion_reads_still_pan_and_return_from_poses():
    base = OrbitPose(target=(0.0, 0.0, 0.3), yaw=0.3, pitch=0.5, distance=3.0)

    def poses(seq):
        return np.stack([extrinsics(p.position(), p.rotation()) for p in seq])

    assert camera_motion(poses([base] * 5)) == "is still"
    pan = [
        OrbitPose(base.target, base.yaw, base.pitch, base.distance, pan=a)
        for a in (0, 0.4, 0.8, 0.4, 0)
    ]
    assert camera_motion(poses(pan)) == "pans left and back"
    assert camera_motion(poses(pan[:3])) == "pans left"
    orbit = [
        OrbitPose(base.target, base.yaw + a, base.pitch, base.distance)
        for a in (0, 0.3, 0.6, 0.3, 0)
    ]
    assert camera_motion(poses(orbit)) == "moves around the scene and returns to where it started"


def test_grammar_helpers():
    g = Grammar(0)
    assert object_phrase({"shape": "box", "colour": "orange", "radius": 0.12}, g).startswith(
        "an orange "
    )
    assert join(["a", "b", "c"]) == "a, b and c" and join(["a"]) == "a"
    assert [Grammar(7, "x").pick("abcdefgh") for _ in range(3)] == [
        Grammar(7, "x").pick("abcdefgh")
    ] * 3


def test_describe_episode_is_pure_given_record_and_facts():
    ep, env = episode("worldsim/MujocoPush-v0", seed=4, steps=24)
    record = {
        "frames": ep.frames,
        "actions": ep.actions,
        "truth": ep.truth,
        "objects": ep.objects,
        "events": ep.events,
        "meta": ep.meta,
    }
    again = describe_episode(record, env.unwrapped.scene_facts(), seed=4)
    assert again.to_dict() == ep.captions
    assert "black" in ep.captions["long"]  # the agent is described


def test_push_direction_captions_say_where_the_puck_and_what_it_pushed_went():
    from envs.captions import Span, floor_directions, push_sentences, push_window_sentences

    right, towards = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    assert floor_directions(np.array([-0.3, 0.05]), right, towards) == ["left"]
    assert floor_directions(np.array([0.2, -0.3]), right, towards) == ["forward", "right"]
    assert floor_directions(np.array([0.05, 0.05]), right, towards) == []
    objects = [
        {"name": "red_sphere", "shape": "sphere", "colour": "red", "agent": False},
        {"name": "blue_box", "shape": "box", "colour": "blue", "agent": False},
        {"name": "agent", "shape": "cylinder", "colour": "black", "agent": True},
    ]
    pos = np.zeros((16, 3, 3))  # (T, N, xyz): the puck and the ball go left, the box back
    pos[:, 0, 0] = pos[:, 2, 0] = np.linspace(0, -0.5, 16)
    pos[:, 1, 1] = np.linspace(0, 0.4, 16)
    contact = {"kind": "contact", "frame": 5, "objects": [2, 0], "detail": {}}
    span = Span({"objects": objects}, {"obj_position": pos}, [contact], 0, 16)
    said = push_window_sentences(span, right, towards, agent=2)
    assert said == [
        "The puck moves left.",
        "The puck pushes the red ball left.",
        "The blue box slides back.",
    ]
    assert set(said) <= set(push_sentences(["red", "blue"], ["sphere", "box"]))


def test_push_control_episodes_caption_in_the_closed_vocabulary_and_prompt_control_speaks_it():
    from envs.mujoco.scenes import PALETTE
    from worldsim.control.prompts import expand_push
    from worldsim.models.text import split_sentences

    ep, env = episode("worldsim/MujocoPush-v0", seed=1, steps=48, captions="directions")
    vocabulary = set(env.unwrapped.caption_sentences())
    said = {s for w in ep.captions["windows"] for s in split_sentences(w["text"])}
    assert said <= vocabulary and any("pushes" in s for s in said)
    assert set(split_sentences(expand_push("red", "sphere", "left"))) <= vocabulary
    assert len(vocabulary) == 13 + 24 * len(PALETTE)
    _, scene_env = episode("worldsim/MujocoPush-v0", seed=1, steps=4)
    # the scene grammar is open: it has no vocabulary to list
    with pytest.raises(ValueError, match='captions="directions" is closed'):
        scene_env.unwrapped.caption_sentences()
