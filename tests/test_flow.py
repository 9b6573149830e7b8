"""Spec of the per-frame rectified-flow objective and its noise levels."""

from __future__ import annotations

import pytest
import torch

from worldsim.diffusion.flow import (
    FlowConfig,
    clean_estimate_error,
    context_estimate_levels,
    context_mask,
    flow_loss,
    logit_normal,
    noised_context,
    noisy,
    resolution_shift,
    sample_levels,
    shift_levels,
    velocity_target,
)


def test_levels_zero_and_one_are_data_and_noise_per_frame():
    x0, noise = torch.randn(2, 3, 4, 5, 5), torch.randn(2, 3, 4, 5, 5)
    xt = noisy(x0, noise, torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]]))
    assert torch.equal(xt[0, 0], x0[0, 0]) and torch.equal(xt[0, 1], noise[0, 1])
    assert torch.allclose(xt[1, 2], 0.75 * x0[1, 2] + 0.25 * noise[1, 2])


def test_velocity_target_is_the_time_derivative_of_the_path():
    x0, noise = torch.randn(1, 2, 3, 4, 4), torch.randn(1, 2, 3, 4, 4)
    t, dt = torch.full((1, 2), 0.3), 1e-3
    numeric = (noisy(x0, noise, t + dt) - noisy(x0, noise, t)) / dt
    assert torch.allclose(numeric, velocity_target(x0, noise), atol=1e-2)


def test_resolution_shift_moves_levels_towards_noise_and_keeps_the_ends():
    t = torch.linspace(0, 1, 11)
    s = resolution_shift(1024, 256)
    assert s == 2.0
    shifted = shift_levels(t, s)
    assert shifted[0] == 0 and shifted[-1] == 1
    assert (shifted[1:-1] > t[1:-1]).all() and (shifted.diff() > 0).all()


def test_logit_normal_levels_lie_strictly_inside_zero_one_centred_at_half():
    t = logit_normal((20000,), 0.0, 1.0, torch.Generator().manual_seed(0))
    assert (t > 0).all() and (t < 1).all()
    assert abs(t.median().item() - 0.5) < 0.02


def test_training_levels_mix_shared_independent_and_clean_context_frames():
    cfg = FlowConfig(shared_prob=0.5, context_prob=0.5, shift=False)
    levels = sample_levels(4000, 6, 64, cfg, torch.Generator().manual_seed(0))
    noisy_rows = levels[(levels > 0).all(dim=1)]
    shared = (noisy_rows == noisy_rows[:, :1]).all(dim=1).float().mean()
    assert 0.35 < shared < 0.65  # about shared_prob of the rows without context
    has_context = (levels == 0).any(dim=1).float().mean()
    assert 0.4 < has_context < 0.6
    assert ((levels > 0).sum(dim=1) >= 1).all()  # something is always left to learn


@pytest.mark.parametrize("frames", [2, 3, 8])
def test_context_masks_are_prefixes_suffixes_or_both_ends(frames):
    mask = context_mask(600, frames, FlowConfig(context_prob=1.0), torch.Generator().manual_seed(1))
    for row in mask.tolist():
        k = row.index(False)  # raises if every frame were context: one is always left to generate
        rest = row[k:]
        tail = len(rest) - rest[::-1].index(False)
        assert not any(rest[:tail]) and all(rest[tail:])  # clean frames only at the two ends
    prefix_lengths = {row.index(False) for row in mask.tolist() if not row[-1]}
    assert prefix_lengths == set(range(1, frames))  # up to T-1 clean frames: an autoregressive step


def test_flow_loss_ignores_clean_context_frames():
    pred, target = torch.zeros(1, 3, 2, 2, 2), torch.ones(1, 3, 2, 2, 2)
    target[:, 0] = 100.0  # a context frame with a huge error
    assert flow_loss(pred, target, torch.tensor([[0.0, 0.5, 0.5]])) == 1.0


def test_flow_loss_weighs_each_cells_squared_error_before_the_frames_mean():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 1, 1, 2)  # (B, T, C, H, W)
    pred = torch.zeros_like(target)
    levels = torch.tensor([[0.5, 0.5]])
    assert flow_loss(pred, target, levels) == flow_loss(pred, target, levels, None) == 7.5
    weight = torch.tensor([1.0, 5.0, 1.0, 1.0]).reshape(1, 2, 1, 1, 2)  # (B, T, 1, H, W)
    # frames (1 + 5 x 4) / 2 = 10.5 and (9 + 16) / 2 = 12.5, averaged; no renormalisation
    assert flow_loss(pred, target, levels, weight) == 11.5
    assert flow_loss(pred, target, torch.tensor([[0.0, 0.5]]), weight) == 12.5  # context: none


def test_context_noise_puts_one_bounded_level_on_each_samples_context_and_nothing_else():
    cfg = FlowConfig(context_noise=0.4)
    levels = sample_levels(2000, 6, 64, cfg, torch.Generator().manual_seed(0))
    inputs = noised_context(levels, cfg, torch.Generator().manual_seed(1))
    context = levels == 0
    assert torch.equal(inputs[~context], levels[~context])  # generated frames keep their levels
    assert inputs[context].min() >= 0 and inputs[context].max() <= 0.4
    assert inputs[context].std() > 0.1  # drawn, not a constant
    per_sample = torch.where(context, inputs, torch.nan)
    spread = per_sample.nan_to_num(0).amax(1) - per_sample.nan_to_num(1).amin(1)
    assert torch.all(spread[context.sum(1) > 1] == 0)  # one level per sample's context
    assert torch.equal(noised_context(levels, FlowConfig(), None), levels)  # off by default


def test_context_estimate_levels_put_one_level_on_the_first_samples_context_only():
    cfg = FlowConfig(context_estimate=0.5, context_estimate_level=0.6)
    levels = sample_levels(2000, 6, 64, cfg, torch.Generator().manual_seed(0))
    est = context_estimate_levels(levels, cfg, torch.Generator().manual_seed(1))
    assert est.shape == (1000, 6)  # the first round(B x share) samples
    context = levels[:1000] == 0
    assert context.any(1).float().mean() > 0.4  # many of them have a context to estimate
    assert torch.equal(est[~context], levels[:1000][~context])  # other frames keep their levels
    assert est[context].min() > 0 and est[context].max() <= 0.6  # never left clean
    assert est[context].std() > 0.1  # drawn, not a constant
    chosen = torch.where(context, est, torch.nan)
    spread = chosen.nan_to_num(0).amax(1) - chosen.nan_to_num(1).amin(1)
    assert torch.all(spread[context.sum(1) > 1] == 0)  # one level per sample's context
    assert context_estimate_levels(levels[:1], cfg).shape == (0, 6)  # round(0.5) = 0 samples


def test_clean_estimate_error_weighs_the_latent_cells_it_is_given():
    torch.manual_seed(0)
    x0, noise = torch.randn(2, 3, 4, 5, 6), torch.randn(2, 3, 4, 5, 6)  # (B, T, c, h, w)
    levels = torch.tensor([[0.0, 0.5, 0.8], [0.0, 0.0, 0.3]])  # (B, T): frame 0 is context

    def still(x, levels, actions, text, clock):  # v = 0: the clean estimate is the noised x
        return torch.zeros_like(x)

    whole = clean_estimate_error(still, x0, noise, levels)
    ones = clean_estimate_error(still, x0, noise, levels, cells=torch.ones(5, 6))
    torch.testing.assert_close(ones, whole)
    cell = torch.zeros(5, 6)
    cell[2, 3] = 1.0
    sq = (noisy(x0, noise, levels) - x0)[..., 2, 3].pow(2).mean(-1)  # (B, T): that cell alone
    expected = torch.stack([sq[0, 1:].mean(), sq[1, 2]])  # over each sample's noised frames
    torch.testing.assert_close(clean_estimate_error(still, x0, noise, levels, cells=cell), expected)
