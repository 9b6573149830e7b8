"""The game clock (`model.clock_period`): each latent frame told its env step's phase in the day,
in training, in every sampling path, and refused when a clocked model is called without it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from worldsim.diffusion.guidance import GuidanceConfig
from worldsim.diffusion.modes import ModeRunner
from worldsim.diffusion.samplers import EulerSampler
from worldsim.models.clock import clock_phase, latent_clock
from worldsim.models.dit import DiT, DiTConfig

C, H, W, A, PERIOD = 3, 4, 4, 5, 12


def dit(clock_period: int = PERIOD, attention: str = "causal") -> DiT:
    torch.manual_seed(0)
    cfg = DiTConfig(C, (1, 2, 2), 32, 2, 4, action_dim=A, attention=attention)
    cfg.clock_period = clock_period
    model = DiT(cfg)
    for p in model.parameters():  # non-zero everywhere: the clock's layer carries signal
        torch.nn.init.normal_(p, std=0.1)
    return model.eval()


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_latent_frames_end_time_factor_steps_apart_and_the_phase_repeats_each_period():
    assert latent_clock(8, 3, 4).tolist() == [8, 12, 16]
    assert latent_clock(torch.tensor([0, 4]), 2, 4).tolist() == [[0, 4], [4, 8]]
    steps = torch.tensor([0, 75, 150, 300, 301, -1])
    phase = clock_phase(steps, 300)  # (6, 2)
    torch.testing.assert_close(phase[0], torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(phase[1], torch.tensor([1.0, 0.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(phase[3], phase[0])
    torch.testing.assert_close(phase[5], clock_phase(torch.tensor(299), 300))


def test_a_clock_added_to_trained_weights_starts_them_unchanged_then_tells_the_phase():
    plain, clocked = dit(0), dit()
    clocked.load_state_dict(plain.state_dict(), strict=False)  # all but the clock's layer
    for p in clocked.clock_embed.parameters():  # as `initialize_weights` leaves them
        torch.nn.init.zeros_(p)
    x, levels, actions = randn(2, 3, C, H, W), torch.rand(2, 3), randn(2, 3, A, seed=1)
    clock = latent_clock(torch.tensor([0, 40]), 3, 4)  # (2, 3)
    with torch.no_grad():
        torch.testing.assert_close(
            clocked(x, levels, actions, clock=clock), plain(x, levels, actions)
        )
        torch.nn.init.normal_(clocked.clock_embed.weight, std=0.5)
        at = {k: clocked(x, levels, actions, clock=clock + k) for k in (0, PERIOD, PERIOD // 2)}
    torch.testing.assert_close(at[0], at[PERIOD])  # a day later: the same light
    assert not torch.allclose(at[0], at[PERIOD // 2])
    with pytest.raises(ValueError, match="clock_period=12"):
        clocked(x, levels, actions)


def test_a_cached_context_and_a_rollout_carry_the_clock():
    model = dit()
    context, x = randn(2, 3, C, H, W), randn(2, 2, C, H, W, seed=1)
    actions, clock = randn(2, 5, A, seed=2), latent_clock(torch.tensor([4, 20]), 5, 4)
    levels = torch.cat([torch.zeros(2, 3), torch.rand(2, 2)], dim=1)
    with torch.no_grad():
        full = model(torch.cat([context, x], 1), levels, actions, clock=clock)[:, 3:]
        cache = model.prefill(context, actions[:, :3], clock=clock[:, :3])
        cached = model.step(x, levels[:, 3:], cache, actions[:, 3:], clock=clock[:, 3:])
    torch.testing.assert_close(cached, full, atol=1e-5, rtol=1e-5)

    guidance = GuidanceConfig(action_scale=1.5)  # two variants per call: the clock in both

    def rollout(kv_cache: bool, shift: int = 0) -> torch.Tensor:
        runner = ModeRunner(model, EulerSampler(2), guidance, kv_cache=kv_cache)
        return runner.rollout(context[:, :1], 4, actions, window=3, clock=clock + shift)

    cached = rollout(True)
    torch.testing.assert_close(cached, rollout(False), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(cached, rollout(True, PERIOD), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(cached, rollout(True, PERIOD // 2), atol=1e-3)


def test_windows_carry_their_clock_and_the_chosen_steps_are_drawn_more(text_cache):
    from worldsim.data.latent_data_config import LatentDataConfig
    from worldsim.data.latent_datamodule import LatentDataModule, drawn_times

    assert [drawn_times(s, [300, 185, 235], 4) for s in (184, 185, 234, 235, 485)] == [
        1,
        4,
        4,
        1,
        4,
    ]
    assert drawn_times(190, [], 4) == 1
    two = [300, 185, 235, 1001, 300, 1001]  # the deep night, and every step after the first day
    assert [drawn_times(s, two, 4) for s in (190, 250, 299, 300, 1000)] == [4, 1, 1, 4, 4]
    for bad in ([300, 185], [300, 185, 235, 1001, 300], [300, 235, 185], [300, 185, 301]):
        with pytest.raises(ValueError, match="oversample_steps"):
            LatentDataConfig(oversample_steps=bad)

    def windows(**oversample):
        cfg = LatentDataConfig(roots=[str(text_cache)], lengths=[2], stride=1, val_fraction=0.0)
        for key, value in oversample.items():
            setattr(cfg, key, value)
        data = LatentDataModule(cfg)
        data.setup()
        return data.train_set

    plain, weighted = windows(), windows(oversample_steps=[12, 0, 4], oversample_weight=3)
    item = plain[5]
    assert item["clock"].tolist() == [4 * item["start"], 4 * item["start"] + 4]
    starts = [r.start for r in plain.refs]
    assert len(weighted) == len(plain) + 2 * sum(4 * s % 12 < 4 for s in starts)
    assert [r for r in weighted.refs if 4 * r.start % 12 >= 4] == [
        r for r in plain.refs if 4 * r.start % 12 >= 4
    ]


def test_a_clocked_predictor_needs_the_steps_of_its_contexts(tmp_path):
    from evals.generate import predict_window
    from evals.scenarios import Case
    from tests.test_world_model import tiny_module, tiny_vae
    from worldsim.predictor import DiTPredictor
    from worldsim.training.world_model import export_checkpoint

    module = tiny_module(action_dim=4 * 3)
    module.model_cfg.clock_period = PERIOD
    module.model = DiT(module.model_cfg)
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    for p in module.model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    pred = DiTPredictor.from_checkpoint(
        export_checkpoint(module, str(tmp_path / "c.ckpt")), steps=2
    )
    context, actions = torch.rand(1, 5, 3, 16, 16) * 2 - 1, torch.randn(1, 5 + 4, 3)
    with pytest.raises(ValueError, match="at_step"):
        pred.predict(context, actions, [""], horizon=4)
    out = {}
    for first in (0, PERIOD, PERIOD // 2):
        pred.at_step([first])
        out[first] = pred.predict(context, actions, [""], horizon=4)
    torch.testing.assert_close(out[0], out[PERIOD], atol=1e-5, rtol=0)
    assert not torch.allclose(out[0], out[PERIOD // 2])

    frames = np.zeros((9, 16, 16, 3), np.uint8)
    case = Case("c", frames, np.zeros((9, 3), np.float32), {}, [], [], "", 5, {})
    predict_window(pred, [case], start=7, horizon=1)
    assert pred.first_steps == [2]  # frames 2..6 were its context


def test_the_evals_rollouts_count_the_clock_on_from_their_first_step():
    from evals.latent_rollout import rollout
    from tests.test_world_model import moving_pattern, tiny_module

    module = tiny_module(action_dim=2, sampler={"name": "euler", "steps": 2})
    module.model_cfg.clock_period = PERIOD
    module.model = DiT(module.model_cfg).eval()
    for p in module.model.parameters():  # non-zero adaLN: the clock reaches the velocity
        torch.nn.init.normal_(p, std=0.05)
    first, actions = moving_pattern()[:, :1], randn(1, 4, 2)
    with torch.no_grad():
        at = {s: rollout(module, first, actions, [""], 3, 3, first_step=s) for s in (4, 16, 10)}
    torch.testing.assert_close(at[4], at[4 + PERIOD])
    assert not torch.allclose(at[4], at[10])
