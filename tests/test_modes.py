"""Spec of the generation modes: every mode returns its conditioning frames exactly unchanged."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest
import torch

from worldsim.config import ConfigError
from worldsim.diffusion.guidance import GuidanceConfig
from worldsim.diffusion.modes import MODES, ModeInputs, ModeRunner, history_guided
from worldsim.diffusion.samplers import EulerSampler, HeunSampler
from worldsim.models.dit import DiT, DiTConfig, TextBatch

C, H, W, A = 3, 4, 6, 5


@pytest.fixture(scope="module")
def model() -> DiT:
    torch.manual_seed(0)
    m = DiT(DiTConfig(latent_channels=C, dim=32, depth=1, heads=4, action_dim=A, text_dim=8))
    for p in m.parameters():
        if p.dim() >= 2:
            torch.nn.init.normal_(p, std=0.05)
    return m.eval()


def runner(model, sampler=None, scales=(2.0, 1.5)) -> ModeRunner:
    rng = torch.Generator().manual_seed(3)
    text = TextBatch(
        torch.randn(2, 3, 8, generator=rng),
        torch.ones(2, 3, dtype=torch.bool),
        torch.randn(2, 8, generator=rng),
    )
    return ModeRunner(model, sampler or HeunSampler(3), GuidanceConfig(*scales), text, seed=0)


def clip(t: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(2, t, C, H, W, generator=torch.Generator().manual_seed(seed))


def acts(t: int) -> torch.Tensor:
    return torch.randn(2, t, A, generator=torch.Generator().manual_seed(7))


def test_extend_forward_and_image_to_video_keep_the_given_frames(model):
    g, c = runner(model), clip(3)
    out = g.extend_forward(c, 2, acts(5))
    assert out.shape == (2, 5, C, H, W) and torch.equal(out[:, :3], c)
    img = g.image_to_video(c[:, :1], 4, acts(4))
    assert img.shape[1] == 4 and torch.equal(img[:, :1], c[:, :1])


def test_extend_backward_keeps_the_clip_at_the_end(model):
    c = clip(2)
    out = runner(model).extend_backward(c, 3, acts(5))
    assert out.shape[1] == 5 and torch.equal(out[:, 3:], c)


def test_interpolate_keeps_both_clips(model):
    a, b = clip(2, 1), clip(1, 2)
    out = runner(model).interpolate(a, b, 3)
    assert out.shape[1] == 6 and torch.equal(out[:, :2], a) and torch.equal(out[:, 5:], b)


def test_loop_starts_at_the_anchor_and_has_the_requested_length(model):
    anchor = clip(1)
    out = runner(model).loop(anchor, 5, acts(5))
    assert out.shape[1] == 5 and torch.equal(out[:, :1], anchor)


def test_edit_keeps_requested_frames_and_small_strength_stays_close(model):
    c = clip(4)
    weak = runner(model, EulerSampler(4)).edit(c, 0.05, keep=1)
    strong = runner(model, EulerSampler(4)).edit(c, 1.0, keep=1)
    assert torch.equal(weak[:, :1], c[:, :1]) and torch.equal(strong[:, :1], c[:, :1])
    assert (weak - c).pow(2).mean() < (strong - c).pow(2).mean() / 10
    with pytest.raises(ValueError, match="strength"):
        runner(model).edit(c, 0.0)


def test_text_and_image_shapes(model):
    g = runner(model)
    assert g.text(2, 3, (C, H, W)).shape == (2, 3, C, H, W)
    assert g.image(2, (C, H, W)).shape == (2, 1, C, H, W)


@pytest.mark.parametrize("window,chunk,horizon", [(3, 1, 7), (4, 2, 5), (8, 3, 4)])
def test_rollout_reaches_any_horizon_with_a_sliding_window_and_keeps_context(
    model, window, chunk, horizon
):
    c = clip(2)
    out = runner(model, EulerSampler(2)).rollout(c, horizon, acts(2 + horizon), window, chunk)
    assert out.shape[1] == 2 + horizon and torch.equal(out[:, :2], c) and torch.isfinite(out).all()


def test_rollout_is_deterministic_given_the_seed_and_depends_on_actions(model):
    c, a = clip(2), acts(6)
    one = runner(model, EulerSampler(2)).rollout(c, 4, a, 4, 1)
    two = runner(model, EulerSampler(2)).rollout(c, 4, a, 4, 1)
    other = runner(model, EulerSampler(2)).rollout(c, 4, -a, 4, 1)
    assert torch.equal(one, two) and not torch.allclose(one, other)


def test_a_stochastic_rollout_is_deterministic_given_the_seed_and_leaves_ode_streams_alone(model):
    c, a = clip(2), acts(6)
    sde = [runner(model, EulerSampler(3, eta=0.8)).rollout(c, 3, a, 4, 1) for _ in range(2)]
    assert torch.equal(*sde) and torch.equal(sde[0][:, :2], c)
    ode = runner(model, EulerSampler(3)).rollout(c, 3, a, 4, 1)
    assert not torch.allclose(sde[0], ode)
    g = runner(model, EulerSampler(1, eta=0.8))  # one step, the last: the ODE's, nothing drawn
    torch.testing.assert_close(
        g.rollout(c, 1, a, 4, 1), runner(model, EulerSampler(1)).rollout(c, 1, a, 4, 1)
    )


@pytest.mark.parametrize("chunk", [1, 2])
def test_every_mode_runs_the_sampler_as_often_as_its_progress_bar_counts(model, chunk):
    video = clip(9)  # time_factor 1: pixel frames are latent frames
    inputs = ModeInputs(
        batch=2,
        new=5,
        shape=(C, H, W),
        frames=9,
        context=3,
        time_factor=1,
        encode=lambda frames: video[:, frames],
        actions=acts,
        window=3,
        chunk=chunk,
    )
    for name, mode in MODES.items():
        for given in [inputs, replace(inputs, encode=None)] if name == "loop" else [inputs]:
            g, steps = runner(model, EulerSampler(2)), []
            g.sampler.on_step = partial(steps.append, 1)
            mode.run(g, given)
            assert len(steps) == 2 * mode.samplings(given), name


def test_mode_registry_names_runner_methods_and_readme_lists_every_mode():
    from pathlib import Path

    assert all(callable(getattr(ModeRunner, name)) for name in MODES)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `sample` |"))
    listed = row.split("mode=")[1].split("`")[0].split("\\|")
    assert sorted(listed) == sorted(MODES)


def test_context_level_shows_the_model_a_noised_context_at_that_level_and_returns_it_clean(model):
    seen = []

    def spy(x, levels, *args, **kwargs):
        seen.append((x[:, :3].clone(), levels.clone()))
        return model(x, levels, *args, **kwargs)

    c = clip(3)
    g = ModeRunner(spy, EulerSampler(2), context_level=0.25, seed=0)
    out = g.extend_forward(c, 1, acts(4))
    assert torch.equal(out[:, :3], c)  # the caller's context comes back exactly
    shown = [x for x, _ in seen]
    assert torch.all(seen[0][1][:, :3] == 0.25)
    assert not torch.allclose(shown[0], c) and torch.equal(shown[0], shown[1])  # noised once
    assert seen[0][1][0, 3] == 1.0  # the new frame still starts from pure noise
    with pytest.raises(ValueError, match="context_level"):
        ModeRunner(model, EulerSampler(2), context_level=1.0)


def test_history_guided_combines_the_history_as_given_noised_and_dropped_in_one_call():
    gen = torch.tensor([[False, False, True]])
    x = torch.randn(1, 3, 2, 1, 1, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(1, 3, 2, 1, 1, generator=torch.Generator().manual_seed(2))
    noised = 0.6 * x + 0.4 * noise

    def f(xs, ls):  # any velocity that reads both the frames and their levels
        return xs * ls[..., None, None, None] + ls.sum(1).reshape(-1, 1, 1, 1, 1)

    calls = []
    guided = history_guided(lambda *a: calls.append(a) or f(*a), gen, noised, 0.4, noise, 3.0)
    v = guided(x, torch.tensor([[0.0, 0.0, 0.7]]))
    frames = gen[..., None, None, None]
    at_k = f(torch.where(frames, x, noised), torch.tensor([[0.4, 0.4, 0.7]]))
    dropped = f(torch.where(frames, x, noise), torch.tensor([[1.0, 1.0, 0.7]]))
    assert len(calls) == 1 and calls[0][0].shape[0] == 3  # the three variants in one batch
    assert torch.allclose(v, f(x, torch.tensor([[0.0, 0.0, 0.7]])) + 2 * (at_k - dropped))


def test_history_guidance_in_a_rollout_step_and_off_at_scale_1(model):
    seen = []

    def spy(x, levels, *args, **kwargs):
        seen.append((x.clone(), levels.clone()))
        return model(x, levels, *args, **kwargs)

    c, a = clip(3), acts(4)
    plain = ModeRunner(model, EulerSampler(2), seed=0).extend_forward(c, 1, a)
    on = GuidanceConfig(history_scale=3.0, history_level=0.5)
    out = ModeRunner(spy, EulerSampler(2), on, context_level=0.2, seed=0).extend_forward(c, 1, a)
    assert torch.equal(out[:, :3], c) and not torch.allclose(out, plain)
    x, levels = seen[0]  # one call per step: the history as shown, at level 0.5, pure noise
    assert len(seen) == 2 and x.shape[0] == 6 and torch.all(levels[:, 3] == 1.0)
    assert [levels[r, :3].unique().item() for r in (0, 2, 4)] == pytest.approx([0.2, 0.5, 1])
    assert torch.allclose(x[2:4, :3], 0.5 * c + 0.5 * x[4:, :3])  # noised from the clean context
    off = ModeRunner(model, EulerSampler(2), GuidanceConfig(history_scale=1.0), seed=0)
    assert torch.equal(off.extend_forward(c, 1, a), plain)  # no extra noise drawn when off
    with pytest.raises(ConfigError, match="history_level=1"):
        GuidanceConfig(history_level=1.0)
