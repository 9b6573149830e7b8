"""Distribution matching (DMD, Yin et al. 2024; Self Forcing, Huang et al. 2025): pure functions.

A generator G is trained so that the windows it makes look, to a frozen model of real windows
(the real score R), as real play does. The gradient needs no matching truth: noise G's window to a
level tau, and move G's frame x along R's clean estimate minus that of a fake score F, a model
trained with the flow loss on G's own windows (so that it knows what G makes). Where R and F agree
G already matches the data; where they differ, x moves towards what R expects.

Few-step generators (`RenoiseSampler`) make each frame in S steps, every step's clean estimate a
sample; the gradient flows through one step chosen at random, the steps before it run without
gradients (Self Forcing's truncation), so every step learns to give a sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from worldsim.diffusion.flow import clean_estimate
from worldsim.diffusion.samplers import FlowSampler, Velocity, generated_levels, on_generated


def exit_estimate(
    sampler: FlowSampler,
    velocity: Velocity,
    x: torch.Tensor,
    generate: torch.Tensor,
    exit_step: int,
    fresh: torch.Tensor | None,
) -> torch.Tensor:
    """The clean estimate at step `exit_step` of `sampler` from x (B, T, C, H, W), its frames
    where `generate` (B, T) at level 1: steps before it without gradients, this one with them.
    `fresh` (fresh_draws, *x.shape): the sampler's noise drawn anew. Context frames come back
    unchanged."""
    ts = sampler.timesteps().tolist()
    if not 0 <= exit_step < sampler.steps:
        raise ValueError(f"exit step {exit_step} outside the sampler's {sampler.steps} steps")
    with torch.no_grad():
        for i in range(exit_step):
            z = None if fresh is None else fresh[i]
            x = sampler.step(x, ts[i], ts[i + 1], velocity, generate, z)
    levels = generated_levels(generate, ts[exit_step])  # (B, T)
    return on_generated(x, clean_estimate(x, velocity(x, levels), levels), generate)


def dmd_target(
    x: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Where distribution matching moves G's samples x (B, ...): x plus R's clean estimate minus
    F's, over the mean absolute gap between x and R's estimate per sample (DMD's normalisation:
    a step of about one unit whatever the level). No gradient flows through it."""
    scale = (x - real).abs().flatten(1).mean(1).clamp_min(eps)  # (B,)
    step = (real - fake) / scale.reshape(-1, *([1] * (x.dim() - 1)))
    return (x + step).detach()


def dmd_loss(x: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """0.5 ||x - sg(target)||^2 averaged: its gradient on x is minus the target's step."""
    return 0.5 * (x - dmd_target(x, real, fake)).pow(2).mean()


def matching_levels(batch: int, low: float, high: float, generator=None) -> torch.Tensor:
    """(B,) levels tau drawn uniformly in [low, high], one per window (all its frames share it)."""
    return low + (high - low) * torch.rand(batch, generator=generator)


def critic_loss(true_logits: torch.Tensor, made_logits: torch.Tensor) -> torch.Tensor:
    """The realism critic's non-saturating GAN loss (DMD2): true frames' logits (B,) up, made
    frames' (B,) down."""
    return F.softplus(-true_logits).mean() + F.softplus(made_logits).mean()


def fooling_loss(made_logits: torch.Tensor) -> torch.Tensor:
    """The generator's side (B,) -> scalar: made frames the critic takes for true."""
    return F.softplus(-made_logits).mean()
