"""The actions' ages (`model.action_ages`): each frame told how long ago each action value was last
taken, counted from the episode's reset, the same in training windows, in evaluation and in play;
a DiT told them starts from one that was not as it was, and refuses actions without them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.test_world_model import tiny_module, tiny_vae
from worldsim.data.latent_datamodule import latent_actions
from worldsim.models.action_ages import action_ages
from worldsim.models.dit import DiT, DiTConfig


def steps_of(ages: torch.Tensor, cap: int) -> list:
    """Ages in [0, 1] back to whole env steps."""
    return torch.expm1(ages * math.log1p(cap)).round().int().tolist()


def aged_module(cap: int, values: int = 3):
    module = tiny_module(action_dim=4 * values)
    module.model_cfg.action_ages = cap
    module.model = DiT(module.model_cfg)
    return module


def test_ages_count_the_steps_since_each_value_was_last_taken_on_a_log_scale():
    actions = torch.zeros(6, 3)  # (T, A): value 0 at frames 0 and 3, value 1 at 2, value 2 never
    actions[[0, 3], 0] = 1.0
    actions[2, 1] = 1.0
    ages = action_ages(actions, cap=4)
    assert steps_of(ages, 4) == [[0, 4, 4], [1, 4, 4], [2, 0, 4], [0, 1, 4], [1, 2, 4], [2, 3, 4]]
    assert ages.max() == 1.0  # the cap, and never taken, read as 1

    pixel = torch.randn(2, 9, 3)  # (B, 1 + 4 k, A)
    told = latent_actions(pixel, 4, ages=16)  # (B, 3, 2 x 12): the actions, then their ages
    torch.testing.assert_close(told[..., :12], latent_actions(pixel, 4))
    torch.testing.assert_close(told[..., 12:], latent_actions(action_ages(pixel, 16), 4))


def test_windows_carry_their_episodes_ages_as_evaluation_builds_them(text_cache):
    from worldsim.data.latent_data_config import LatentDataConfig
    from worldsim.data.latent_datamodule import LatentDataModule

    cfg = LatentDataConfig(roots=[str(text_cache)], lengths=[2], stride=1, val_fraction=0.0)
    data = LatentDataModule(cfg, action_ages=16)
    data.setup()
    windows = data.train_set
    ref = next(r for r in windows.refs if r.start >= 3)
    item = windows[windows.refs.index(ref)]
    episode = windows.cache.load(ref.episode)
    pixel = torch.from_numpy(np.array(episode.actions, np.float32))[None]  # (1, T, A) from reset
    frames = 1 + (pixel.shape[1] - 1) // 4
    module = aged_module(16, values=pixel.shape[-1])
    whole = module.latent_actions(pixel, frames)[0]  # (T', 2 f A): as the evals' episodes
    torch.testing.assert_close(item["actions"], whole[ref.start : ref.start + 2])
    # counted from the window's own start they would differ: the history before it is kept
    span = pixel[:, 1 + 4 * (ref.start - 1) :]
    assert not torch.allclose(item["actions"], module.latent_actions(span, 3)[0, 1:])


def test_a_dit_told_ages_starts_as_the_one_it_grew_from_and_refuses_actions_without_them(
    capsys,
):
    from worldsim.jobs.train import init_weights

    plain, aged = tiny_module(action_dim=8), aged_module(32, values=2)
    for p in plain.model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    init_weights(aged, plain, "plain.ckpt")
    assert "has no action ages: its layer starts silent" in capsys.readouterr().out
    x, levels = torch.randn(2, 3, 4, 8, 8), torch.rand(2, 3)
    actions, ages = torch.randn(2, 3, 8), torch.rand(2, 3, 8)
    with torch.no_grad():
        told = aged.model(x, levels, torch.cat([actions, ages], -1))
        torch.testing.assert_close(told, plain.model(x, levels, actions))
        torch.nn.init.normal_(aged.model.age_embed.weight, std=0.5)
        assert not torch.allclose(aged.model(x, levels, torch.cat([actions, ages], -1)), told)
        dropped = torch.ones(2, dtype=torch.bool)  # dropped with the actions: the null action
        torch.testing.assert_close(
            aged.model(x, levels, torch.cat([actions, ages], -1), drop_actions=dropped),
            aged.model(x, levels, None),
        )
    with pytest.raises(ValueError, match="action_ages=32"):
        aged.model(x, levels, actions)
    with pytest.raises(ValueError, match="needs actions"):
        DiT(DiTConfig(latent_channels=4, dim=32, depth=1, heads=2, action_ages=8))


def test_play_tells_each_new_frame_the_ages_of_the_actions_held_since_it_began(tmp_path):
    from worldsim.diffusion.samplers import SamplerConfig
    from worldsim.interactive import Session
    from worldsim.training.world_model import SampleConfig

    module = aged_module(6)  # a short cap: the session keeps only the last 3 steps' actions
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    start = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    session = Session(module, start, SampleConfig(SamplerConfig("euler", 1), window=3))
    held = [np.eye(3, dtype=np.float32)[i] for i in (1, 0, 0, 2, 0)]
    rows = []
    for action in held:
        session.step(action)
        rows.append(session.actions[0, -1])
    first = np.zeros(3, np.float32)  # frame 0 of no action, then each action held 4 frames
    pixel = torch.from_numpy(np.stack([first] + [a for a in held for _ in range(4)]))
    whole = module.latent_actions(pixel[None], 1 + len(held))[0, 1:]  # (5, 2 x 12)
    torch.testing.assert_close(torch.stack(rows), whole)


@pytest.mark.parametrize(
    "told, refused",
    [
        (["model.action_ages=8", "use_actions=false"], "use_actions=false"),
        (["model.action_ages=8", "flow.rollout_share=0.5"], "rollout bank"),
        (["model.clock_period=300", "flow.rollout_share=0.5"], "rollout bank"),
    ],
)
def test_training_refuses_what_cannot_carry_the_history(tmp_path, capsys, told, refused):
    from worldsim.cli import main

    out = tmp_path / "run"
    code = main(["train", *told, f"out={out}"])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert told[0] in err and refused in err and len(err.strip().splitlines()) == 1
