"""Spec of the flow samplers and guidance: analytic flows reach the right distribution."""

from __future__ import annotations

import pytest
import torch

from worldsim.config import ConfigError
from worldsim.diffusion.guidance import GuidanceConfig, guided_velocity
from worldsim.diffusion.samplers import (
    EulerSampler,
    HeunSampler,
    RenoiseSampler,
    SamplerConfig,
    make_sampler,
)
from worldsim.models.dit import TextBatch

MU, SIGMA = 2.0, 0.5


def gaussian_velocity(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Exact velocity of the flow from N(MU, SIGMA^2) data to N(0, 1) noise, per frame."""
    t = levels.reshape(*levels.shape, *([1] * (x.dim() - 2)))
    mean, var = (1 - t) * MU, (1 - t) ** 2 * SIGMA**2 + t**2
    return -MU + (t - (1 - t) * SIGMA**2) / var * (x - mean)


def fresh(sampler, *shape: int) -> torch.Tensor | None:
    """The noise a stochastic sampler draws anew at its steps (None for the ODE samplers)."""
    draws = sampler.fresh_draws
    return torch.randn(draws, *shape, generator=torch.Generator().manual_seed(1)) if draws else None


def run(sampler, n: int = 20000) -> torch.Tensor:
    x = torch.randn(n, 1, 1, generator=torch.Generator().manual_seed(0))
    generate = torch.ones(n, 1, dtype=torch.bool)
    return sampler.sample(gaussian_velocity, x, generate, fresh=fresh(sampler, n, 1, 1))


@pytest.mark.parametrize(
    "sampler",
    [
        EulerSampler(100),
        EulerSampler(100, eta=0.5),
        HeunSampler(12),
        HeunSampler(24, shift=3.0),
    ],
)
def test_sampler_on_exact_gaussian_flow_reaches_the_data_distribution(sampler):
    out = run(sampler)
    assert abs(out.mean().item() - MU) < 0.02
    assert abs(out.std().item() - SIGMA) < 0.02


def test_heun_is_more_accurate_than_euler_at_equal_steps():
    err = lambda s: abs(run(s).std().item() - SIGMA)  # noqa: E731
    assert err(HeunSampler(6)) < err(EulerSampler(6)) / 4


def test_context_frames_come_back_bit_identical():
    x = torch.randn(3, 4, 2, 3, 3)
    generate = torch.tensor([[True, False, True, False]] * 3)
    for sampler in (EulerSampler(5), EulerSampler(5, eta=1.0), HeunSampler(5)):
        out = sampler.sample(gaussian_velocity, x, generate, fresh=fresh(sampler, *x.shape))
        assert torch.equal(out[:, 1], x[:, 1]) and torch.equal(out[:, 3], x[:, 3])
        assert not torch.equal(out[:, 0], x[:, 0])


def test_eta_draws_fresh_noise_at_every_step_but_the_last_and_only_for_euler():
    x, generate = torch.randn(4, 2, 1), torch.ones(4, 2, dtype=torch.bool)
    ode, sde = EulerSampler(6), EulerSampler(6, eta=1.0)
    assert ode.fresh_draws == 0 and sde.fresh_draws == 5
    noise = fresh(sde, *x.shape)
    one, two = (sde.sample(gaussian_velocity, x, generate, fresh=n) for n in (noise, -noise))
    assert not torch.allclose(one, two)  # the fresh noise is read
    near_ode = EulerSampler(6, eta=1e-6).sample(gaussian_velocity, x, generate, fresh=noise)
    torch.testing.assert_close(near_ode, ode.sample(gaussian_velocity, x, generate))  # eta -> 0
    with pytest.raises(ValueError, match="5 fresh noise draws, given 0"):
        sde.sample(gaussian_velocity, x, generate)
    with pytest.raises(ValueError, match="euler"):
        HeunSampler(6, eta=0.5)
    with pytest.raises(ConfigError, match="sampler.eta=0.5 needs sampler.name=euler"):
        SamplerConfig("heun", 6, eta=0.5)
    with pytest.raises(ConfigError, match=r"must lie in \[0, 1\]"):
        SamplerConfig("euler", 6, eta=1.5)


def test_renoise_steps_noise_the_clean_estimate_anew_and_take_no_eta():
    x, generate = torch.randn(4, 2, 1), torch.ones(4, 2, dtype=torch.bool)
    sampler = RenoiseSampler(4, shift=2.0)
    assert sampler.fresh_draws == 3
    z = torch.randn_like(x)
    t, t_next = sampler.timesteps()[:2].tolist()
    x0 = x - t * gaussian_velocity(x, torch.full((4, 2), t))  # the clean estimate at t
    step = sampler.step(x, t, t_next, gaussian_velocity, generate, z)
    torch.testing.assert_close(step, (1 - t_next) * x0 + t_next * z)
    with pytest.raises(ValueError, match="leave eta 0"):
        RenoiseSampler(4, eta=0.5)
    with pytest.raises(ConfigError, match="renoise draws all its noise anew"):
        SamplerConfig("renoise", 4, eta=0.5)
    assert isinstance(make_sampler(SamplerConfig("renoise", 4)), RenoiseSampler)
    # a flow model's clean estimate is a posterior mean, not a sample: renoised it loses spread,
    # which is why the sampler is for generators trained to give samples (distribution matching)
    out = run(RenoiseSampler(100))
    assert abs(out.mean().item() - MU) < 0.02 and out.std().item() < 0.8 * SIGMA


def test_partial_start_timesteps_begin_at_the_edit_strength_with_any_shift():
    for shift in (1.0, 3.0):
        ts = EulerSampler(10, shift).timesteps(0.4)
        assert torch.isclose(ts[0], torch.tensor(0.4)) and ts[-1] == 0 and (ts.diff() < 0).all()


def test_make_sampler_names_the_choices_on_a_typo():
    assert isinstance(make_sampler(SamplerConfig("heun", 4)), HeunSampler)
    with pytest.raises(ValueError, match="euler"):
        make_sampler(SamplerConfig("eular", 4))


class LinearModel(torch.nn.Module):
    """v = x + 1 (always) + 10 (with text) + 100 (with actions): guidance arithmetic shows."""

    def forward(self, x, levels, actions, text, drop_actions, drop_text, clock=None):
        shape = (-1, *([1] * (x.dim() - 1)))
        return (
            x
            + 1
            + 10 * (~drop_text).float().reshape(shape)
            + 100 * (~drop_actions).float().reshape(shape)
        )


class PooledTextModel(torch.nn.Module):
    """v = x + the prompt's first pooled value (0 when the prompt is dropped)."""

    def forward(self, x, levels, actions, text, drop_actions, drop_text, clock=None):
        keep = torch.ones(x.shape[0]) if drop_text is None else (~drop_text).float()
        return x + (keep * text.pooled[:, 0]).reshape(-1, *([1] * (x.dim() - 1)))


def test_text_guidance_from_a_negative_prompt_amplifies_only_the_difference():
    def text(value: float) -> TextBatch:
        return TextBatch(torch.zeros(2, 3, 4), torch.ones(2, 3, dtype=torch.bool),
                         torch.full((2, 4), value))  # fmt: skip

    x, levels = torch.zeros(2, 1, 1, 1, 1), torch.ones(2, 1)
    for negative, want in [(None, 3 * 5.0), (text(4.0), 4.0 + 3 * (5.0 - 4.0)), (text(5.0), 5.0)]:
        v = guided_velocity(PooledTextModel(), None, text(5.0), GuidanceConfig(3.0), negative)
        assert torch.allclose(v(x, levels), torch.full_like(x, want)), (negative, want)
    # negative_scale weighs the negative prompt over the dropped one (0): 0 + 0.5 * 4 + 3 * (5 - 4)
    for negative_scale, want in [(0.0, 3.0), (0.5, 5.0), (1.0, 7.0)]:
        cfg = GuidanceConfig(3.0)
        v = guided_velocity(PooledTextModel(), None, text(5.0), cfg, text(4.0), negative_scale)
        assert torch.allclose(v(x, levels), torch.full_like(x, want)), (negative_scale, want)
    # at scale 1 the negative prompt is never evaluated
    v = guided_velocity(PooledTextModel(), None, text(5.0), GuidanceConfig(1.0), text(4.0))
    assert torch.allclose(v(x, levels), torch.full_like(x, 5.0))


def test_guidance_without_actions_evaluates_no_actions_dropped_variant():
    rows = []

    class NoActions(torch.nn.Module):  # v = x + 1 + 10 (with text): no actions to drop
        def forward(self, x, levels, actions, text, drop_actions, drop_text, clock=None):
            rows.append(x.shape[0])
            return x + 1 + 10 * (~drop_text).float().reshape(-1, 1, 1, 1, 1)

    x, levels = torch.zeros(2, 1, 1, 1, 1), torch.ones(2, 1)
    v = guided_velocity(NoActions(), None, None, GuidanceConfig(3.0, 2.0))(x, levels)
    assert rows == [4]  # the prompt kept and dropped: v(text, -) is v(text, null action)
    assert torch.allclose(v, torch.full_like(v, 1 + 3 * 10))


def test_guidance_combines_separate_text_and_action_scales():
    x, levels = torch.zeros(2, 1, 1, 1, 1), torch.ones(2, 1)
    text = object()  # passed through untouched by the linear model
    for ts, as_, want in [
        (1.0, 1.0, 111.0),
        (3.0, 1.0, 131.0),
        (1.0, 2.0, 211.0),
        (0.0, 0.0, 1.0),
        (2.0, 0.5, 71.0),
    ]:
        v = guided_velocity(LinearModel(), torch.zeros(2, 1, 3), None, GuidanceConfig(ts, as_))(
            x, levels
        )
        assert torch.allclose(v, torch.full_like(v, want)), (ts, as_, v.flatten())
    del text


def test_rows_dropped_for_matching_stay_dropped_in_every_guidance_variant():
    # row 0 keeps both, row 1 drops its actions, row 2 its prompt (flow.dmd's dropout)
    x, levels = torch.zeros(3, 1, 1, 1, 1), torch.ones(3, 1)
    dropped = (torch.tensor([False, True, False]), torch.tensor([False, False, True]))
    for ts, as_, want in [(1.0, 1.0, [111.0, 11.0, 101.0]), (3.0, 2.0, [231.0, 31.0, 201.0])]:
        cfg = GuidanceConfig(ts, as_)
        v = guided_velocity(LinearModel(), torch.zeros(3, 1, 3), None, cfg, dropped=dropped)
        assert v(x, levels).flatten().tolist() == want, (ts, as_)
