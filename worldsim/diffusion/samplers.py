"""Samplers for rectified flow: standalone, unaware of the model (a velocity function goes in).

`velocity(x, levels)` takes latents (B, T, ...) and per-frame levels (B, T) and returns dx/dt.
Frames outside `generate` (clean context) stay at level 0 and are returned bit-for-bit unchanged.

Rectified flow puts a frame at level t as x_t = (1 - t) x_0 + t eps, so one velocity gives both
the clean frame x_0 = x - t v and the noise eps = x + (1 - t) v it implies. An Euler step to t'
is (1 - t') x_0 + t' eps: the deterministic ODE (DDIM with eta 0). With `eta` > 0 the step
carries t' (sqrt(1 - c^2) eps + c z) instead, z fresh Gaussian noise and c = eta sqrt(1 - r^2),
r = (1 - t) t' / ((1 - t') t) the ratio of the two levels' signal-to-noise amplitudes: DDIM's eta
family (Song et al., 2021, eq. 16) in rectified flow's terms. eta 1 is DDPM's ancestral
sampler; every eta keeps the data distribution as the steps shrink, while the predicted noise's
errors are partly replaced at each step instead of carried to the end.

`renoise` is the few-step sampler of consistency models and Self Forcing: each step takes the
clean estimate x_0 and noises it to t' with wholly fresh noise, (1 - t') x_0 + t' z (c = 1 above).
A model trained by distribution matching (`worldsim.diffusion.dmd`) makes its samples this way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from worldsim.diffusion.flow import shift_levels
from worldsim.diffusion.sampling_config import SamplerConfig

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class FlowSampler:
    """Steps from level `start` down to 0 on a (shifted) uniform grid: Euler steps of dx/dt = v,
    with part of each step's noise drawn anew when `eta` > 0 (0: the ODE)."""

    def __init__(self, steps: int, shift: float = 1.0, eta: float = 0.0):
        if steps < 1:
            raise ValueError(f"sampler steps {steps} must be >= 1")
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"sampler eta {eta} must lie in [0, 1]")
        self.steps, self.shift, self.eta = steps, shift, eta
        # called after each step, e.g. a progress bar's update (not by a replayed CUDA graph)
        self.on_step: Callable[[], object] | None = None

    def timesteps(self, start: float = 1.0) -> torch.Tensor:
        """Levels (steps + 1,) from `start` to 0, shifted like the training levels."""
        u0 = start / (self.shift - (self.shift - 1) * start)  # unshifted level that shifts to start
        return shift_levels(torch.linspace(u0, 0.0, self.steps + 1), self.shift)

    @property
    def fresh_draws(self) -> int:
        """How many noise tensors shaped like the latents `sample` reads besides its start: one
        per step that ends above level 0 when `eta` > 0, else none."""
        return self.steps - 1 if self.eta else 0

    def fresh_share(self, t: float, t_next: float) -> float:
        """c: the share of the noise carried to level t_next (< t) that is drawn anew."""
        r = (1 - t) * t_next / ((1 - t_next) * t)  # in [0, 1): t' < t
        return self.eta * math.sqrt(1 - r * r)

    def step(
        self,
        x: torch.Tensor,
        t: float,
        t_next: float,
        velocity: Velocity,
        generate: torch.Tensor,
        fresh: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One Euler step of the generated frames, `fresh` noise (like x) mixed into the noise it
        carries when given; context frames untouched."""
        v = velocity(x, generated_levels(generate, t))
        new = x + (t_next - t) * v
        if fresh is not None:  # swap t' eps for t' (sqrt(1 - c^2) eps + c z)
            c = self.fresh_share(t, t_next)
            eps = x + (1 - t) * v  # (B, T, ...) the noise this velocity implies
            new = new + t_next * ((math.sqrt(1 - c * c) - 1) * eps + c * fresh)
        return on_generated(x, new, generate)

    @torch.no_grad()
    def sample(
        self,
        velocity: Velocity,
        x: torch.Tensor,
        generate: torch.Tensor,
        start: float = 1.0,
        fresh: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Denoise frames where `generate` (B, T) is True from level `start` to 0; `fresh`
        (fresh_draws, *x.shape) is the noise drawn anew at each step but the last."""
        given = 0 if fresh is None else fresh.shape[0]
        if given != self.fresh_draws:
            raise ValueError(
                f"this sampler reads {self.fresh_draws} fresh noise draws, given {given}"
            )
        ts = self.timesteps(start).tolist()
        for i, (t, t_next) in enumerate(zip(ts[:-1], ts[1:])):
            z = None if fresh is None or t_next <= 0 else fresh[i]  # (*x.shape) or none
            x = self.step(x, t, t_next, velocity, generate, z)
            if self.on_step is not None:
                self.on_step()
        return x


class EulerSampler(FlowSampler):
    """First-order Euler steps: one velocity evaluation per step."""


class HeunSampler(FlowSampler):
    """Second-order Heun (trapezoidal) steps of the ODE; the last step to level 0 is Euler."""

    def __init__(self, steps: int, shift: float = 1.0, eta: float = 0.0):
        if eta:
            raise ValueError("sampler heun integrates the ODE: eta > 0 needs sampler euler")
        super().__init__(steps, shift)

    def step(self, x, t, t_next, velocity, generate, fresh=None):
        v = velocity(x, generated_levels(generate, t))
        x_euler = on_generated(x, x + (t_next - t) * v, generate)
        if t_next <= 0.0:
            return x_euler
        v_next = velocity(x_euler, generated_levels(generate, t_next))
        return on_generated(x, x + (t_next - t) * 0.5 * (v + v_next), generate)


class RenoiseSampler(FlowSampler):
    """Each step's clean estimate noised to the next level with wholly fresh noise: the few-step
    sampler of a distribution-matched generator (`eta` has no meaning here and must stay 0). A
    flow model's clean estimate is a posterior mean, so under this sampler its samples lose
    spread (on the exact Gaussian flow, std 0.34 for 0.5 at 100 steps, tests/test_sampler.py)."""

    def __init__(self, steps: int, shift: float = 1.0, eta: float = 0.0):
        if eta:
            raise ValueError("sampler renoise draws all of each step's noise anew: leave eta 0")
        super().__init__(steps, shift)

    @property
    def fresh_draws(self) -> int:
        return self.steps - 1

    def fresh_share(self, t: float, t_next: float) -> float:
        return 1.0


SAMPLERS = {"euler": EulerSampler, "heun": HeunSampler, "renoise": RenoiseSampler}


def make_sampler(cfg: SamplerConfig) -> FlowSampler:
    """The sampler named by `cfg.name`."""
    if cfg.name not in SAMPLERS:
        raise ValueError(f"sampler '{cfg.name}' unknown; choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[cfg.name](cfg.steps, cfg.shift, cfg.eta)


def generated_levels(generate: torch.Tensor, t: float) -> torch.Tensor:
    """(B, T) levels: t on generated frames, 0 on context."""
    return generate.float() * t


def on_generated(x: torch.Tensor, new: torch.Tensor, generate: torch.Tensor) -> torch.Tensor:
    """`new` on generated frames, `x` exactly on context frames."""
    return torch.where(generate.reshape(*generate.shape, *([1] * (x.dim() - 2))), new, x)
