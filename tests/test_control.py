"""`worldsim control`: the whole receding-horizon loop with tiny random models (no success tested),
its outputs, and the pieces it is made of (prompt expansion, tasks, intervals, the planner)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from envs.crafter.captions import caption_sentences
from envs.make import EnvConfig
from worldsim.control.policies import consensus
from worldsim.control.prompts import expand_crafter
from worldsim.control.report import wilson
from worldsim.control.tasks import CRAFTER_TASKS, named_task, task_from_prompt
from worldsim.diffusion.flow import FlowConfig
from worldsim.models.dit import DiTConfig
from worldsim.models.idm import IDMConfig, InverseDynamics
from worldsim.models.text import TextConfig, split_sentences
from worldsim.training.world_model import LatentInfo, WorldModel, export_checkpoint

C = 4  # latent channels of the tiny models


def tiny_checkpoints(tmp_path, action_dim: int, idm: IDMConfig) -> tuple[str, str]:
    """A random tiny world model with its VAE, and a random IDM, saved."""
    from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder

    torch.manual_seed(0)
    vae = VideoAutoencoder(
        AutoencoderConfig(latent_channels=C, base_channels=8, channel_mult=[1, 1, 1], norm_groups=4)
    )
    module = WorldModel(
        DiTConfig(latent_channels=C, dim=32, depth=1, heads=2, action_dim=4 * action_dim),
        FlowConfig(),
        {},
        TextConfig(name="none"),
        {"sampler": {"steps": 2}},
        LatentInfo(
            mean=[0.0] * C,
            std=[1.0] * C,
            autoencoder=str(save_autoencoder(vae, tmp_path / "vae.ckpt")),
        ),
    )
    ckpt = export_checkpoint(module, str(tmp_path / "wm.pt"), bundle_autoencoder=True)
    InverseDynamics(idm).save(tmp_path / "idm.pt")
    return ckpt, str(tmp_path / "idm.pt")


def run_control(tmp_path, ckpt: str, idm: str, *args: str) -> dict:
    from worldsim.config import load_config, to_object
    from worldsim.jobs import control

    out = tmp_path / "out"
    overrides = [f"ckpt={ckpt}", f"idm={idm}", f"out={out}", "device=cpu", "episodes=1",
                 "env.width=32", "env.height=32", "control.max_steps=6", "control.execute=2",
                 "control.futures=2", "control.imagine.horizon=1", *args]  # fmt: skip
    torch.set_num_threads(1)
    control.run(to_object(load_config(control.Config, overrides)))
    return json.loads((out / "results.json").read_text())


def check_outputs(tmp_path, results: dict, valid) -> None:
    from worldsim.video import read_video

    out = tmp_path / "out"
    assert (out / "summary.html").read_text().count("<tr>") == 1 + len(results["cells"])
    for cells in results["cells"].values():
        for policy, cell in cells.items():
            (episode,) = cell["episodes"]
            assert cell["n"] == 1 and 0 <= cell["ci95"][0] <= cell["ci95"][1] <= 1
            assert 1 <= episode["steps"] == len(episode["actions"]) <= 6
            assert all(valid(a) for a in episode["actions"]), (policy, episode["actions"])
            video = read_video(out / episode["video"])  # real | imagined, headed by text
            assert video.shape[0] == episode["steps"] + 1 and video.shape[2] > 2 * 32 * 3
            if policy != "random":
                assert episode["diagnostics"]["imagined_change"] >= 0
                assert len(episode["plans"]) == -(-episode["steps"] // 2)


def test_crafter_loop_with_tiny_models_plays_valid_actions_and_writes_outputs(tmp_path):
    ckpt, idm = tiny_checkpoints(tmp_path, 17, IDMConfig(action_dim=17, width=4, loss="ce"))
    results = run_control(tmp_path, ckpt, idm, "tasks=[collect_wood]", "env.kwargs.area=[16,16]",
                          "policies=[prompt,consensus,random]")  # fmt: skip
    check_outputs(tmp_path, results, lambda a: isinstance(a, int) and 0 <= a < 17)
    prompt = results["cells"]["collect_wood"]["prompt"]["episodes"][0]["prompt"]
    assert "The player achieves collect wood." in prompt


def test_push_loop_with_tiny_models_plays_actions_inside_the_box(tmp_path):
    idm = IDMConfig(action_dim=2, width=4, frames=3, after=1)
    ckpt, idm = tiny_checkpoints(tmp_path, 2, idm)
    results = run_control(tmp_path, ckpt, idm, "prompt=push the pink ball left",
                          "policies=[prompt,short_prompt]", "env=push")  # fmt: skip
    check_outputs(
        tmp_path, results, lambda a: np.shape(a) == (2,) and np.all(np.abs(np.asarray(a)) <= 1)
    )


def test_expanded_crafter_prompts_use_only_training_sentences():
    known = set(caption_sentences(["collect_wood", "place_table", "collect_drink", "eat_cow"]))
    for task in CRAFTER_TASKS:
        for seed in range(5):
            assert set(split_sentences(expand_crafter(task, seed))) <= known


def test_short_prompts_pick_the_task_and_push_prompts_name_colour_and_direction():
    crafter = EnvConfig(id="worldsim/CrafterReward-v0")
    assert task_from_prompt(crafter, "get wood").name == "collect_wood"
    assert task_from_prompt(crafter, "collect wood and place a table").name == "place_table"
    assert task_from_prompt(crafter, "drink some water").env.kwargs["task"] == "collect_drink"
    push = task_from_prompt(EnvConfig(id="worldsim/MujocoPush-v0"), "push the red ball left")
    assert push.target == {"colour": "red", "direction": "left"}
    with pytest.raises(ValueError, match="names no crafter task"):
        task_from_prompt(crafter, "dance")
    assert named_task("push_back").family == "push"


def test_wilson_interval_and_consensus_medoid():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    assert wilson(0, 50)[0] == 0 and wilson(0, 50)[1] == pytest.approx(0.0714, abs=1e-3)
    plans = np.eye(3)[[[0, 1], [0, 1], [2, 2], [0, 2]]]  # (4 futures, 2 actions, 3) one-hot
    assert consensus(plans) in (0, 1)
