"""Spec of the context KV cache: with frame-causal attention, denoising after cached context
keys/values gives what the full forward gives, to 1e-5 in fp32."""

from __future__ import annotations

import pytest
import torch

from worldsim.diffusion.guidance import GuidanceConfig
from worldsim.diffusion.modes import ModeRunner
from worldsim.diffusion.samplers import EulerSampler, HeunSampler
from worldsim.models.dit import DiT, DiTConfig, TextBatch

C, H, W, A = 3, 4, 6, 5


def causal_dit(patch=(1, 2, 2)) -> DiT:
    torch.manual_seed(0)
    cfg = DiTConfig(C, patch, 32, 2, 4, action_dim=A, text_dim=8, attention="causal")
    model = DiT(cfg)
    for p in model.parameters():  # non-zero adaLN and final layer: every path carries signal
        torch.nn.init.normal_(p, std=0.1)
    return model.eval()


def text() -> TextBatch:
    rng = torch.Generator().manual_seed(3)
    return TextBatch(
        torch.randn(2, 3, 8, generator=rng),
        torch.tensor([[True, True, False], [True, False, False]]),
        torch.randn(2, 8, generator=rng),
    )


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("new", [1, 2])
def test_step_after_prefill_equals_the_full_forward_on_the_new_frames(new):
    model, prompts = causal_dit(), text()
    context, x = randn(2, 3, C, H, W), randn(2, new, C, H, W, seed=1)
    actions = randn(2, 3 + new, A, seed=2)
    levels = torch.cat([torch.zeros(2, 3), torch.rand(2, new)], dim=1)  # context clean, level 0
    drops = (torch.tensor([False, True]), torch.tensor([True, False]))
    with torch.no_grad():
        full = model(torch.cat([context, x], 1), levels, actions, prompts, *drops)[:, 3:]
        cache = model.prefill(context, actions[:, :3], prompts, *drops)
        for _ in range(2):  # every denoising step reuses the same cache
            cached = model.step(x, levels[:, 3:], cache, actions[:, 3:], prompts, *drops)
            torch.testing.assert_close(cached, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("level", [0.0, 0.2])  # a clean context, and one noised to level 0.2
@pytest.mark.parametrize("sampler", [EulerSampler(4), EulerSampler(4, eta=0.7), HeunSampler(3)])
def test_cached_rollout_equals_the_uncached_one_with_guidance(sampler, level):
    model, context, actions = causal_dit(), randn(2, 2, C, H, W), randn(2, 6, A, seed=2)
    guidance = GuidanceConfig(text_scale=2.0, action_scale=1.5)  # three variants per call

    def rollout(kv_cache: bool) -> torch.Tensor:
        runner = ModeRunner(
            model, sampler, guidance, text(), seed=0, kv_cache=kv_cache, context_level=level
        )
        return runner.rollout(context, 4, actions, window=3, chunk=1)

    prefills = []  # the cached path ran: its context was prefilled
    prefill = model.prefill
    model.prefill = lambda *args, **kw: prefills.append(kw["level"]) or prefill(*args, **kw)
    cached = rollout(True)
    assert prefills and set(prefills) == {level}
    plain = rollout(False)
    assert torch.equal(cached[:, :2], context)
    torch.testing.assert_close(cached, plain, atol=1e-5, rtol=1e-5)


def test_history_guidance_sets_the_cache_aside_and_samples_as_the_full_forward():
    model, context, actions = causal_dit(), randn(2, 2, C, H, W), randn(2, 5, A, seed=2)
    # prompts and actions tiled over the history's three variants, each with its text guidance
    guidance = GuidanceConfig(text_scale=2.0, history_scale=2.0)

    def rollout(kv_cache: bool) -> torch.Tensor:
        runner = ModeRunner(model, EulerSampler(2), guidance, text(), seed=0, kv_cache=kv_cache)
        return runner.rollout(context, 3, actions, window=3, chunk=1)

    assert torch.equal(rollout(True), rollout(False))


def test_a_context_that_splits_a_token_frame_falls_back_to_the_full_forward():
    model = causal_dit(patch=(2, 2, 2))
    context = randn(2, 3, C, H, W)  # 3 frames: the last token frame mixes context and new
    with pytest.raises(ValueError, match="multiple of pt"):
        model.prefill(context)
    cached = ModeRunner(model, EulerSampler(2), kv_cache=True).extend_forward(context, 1)
    plain = ModeRunner(model, EulerSampler(2), kv_cache=False).extend_forward(context, 1)
    assert torch.equal(cached, plain)


def test_full_attention_never_uses_the_cache():
    model = DiT(DiTConfig(C, dim=32, depth=1, heads=4))
    assert not ModeRunner(model, EulerSampler(2)).kv_cache
    with pytest.raises(ValueError, match="attention=causal"):
        model.prefill(randn(1, 2, C, H, W))


def test_bf16_weights_run_the_cached_path_close_to_fp32():
    model, context, actions = causal_dit(), randn(1, 2, C, H, W), randn(1, 4, A, seed=2)
    fp32 = ModeRunner(model, EulerSampler(2)).rollout(context, 2, actions, window=3)
    half = ModeRunner(model.to(torch.bfloat16), EulerSampler(2)).rollout(context, 2, actions, 3)
    assert half.dtype == torch.float32 and torch.equal(half[:, :2], context)
    torch.testing.assert_close(half, fp32, atol=0.1, rtol=0.1)
