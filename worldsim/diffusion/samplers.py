"""ODE samplers for rectified flow: standalone, unaware of the model (a velocity function goes in).

`velocity(x, levels)` takes latents (B, T, ...) and per-frame levels (B, T) and returns dx/dt.
Frames outside `generate` (clean context) stay at level 0 and are returned bit-for-bit unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from worldsim.diffusion.flow import shift_levels
from worldsim.diffusion.sampling_config import SamplerConfig

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class FlowSampler:
    """Integrates dx/dt = v from level `start` down to 0 on a (shifted) uniform grid."""

    def __init__(self, steps: int, shift: float = 1.0):
        if steps < 1:
            raise ValueError(f"sampler steps {steps} must be >= 1")
        self.steps, self.shift = steps, shift
        # called after each step, e.g. a progress bar's update (not by a replayed CUDA graph)
        self.on_step: Callable[[], object] | None = None

    def timesteps(self, start: float = 1.0) -> torch.Tensor:
        """Levels (steps + 1,) from `start` to 0, shifted like the training levels."""
        u0 = start / (self.shift - (self.shift - 1) * start)  # unshifted level that shifts to start
        return shift_levels(torch.linspace(u0, 0.0, self.steps + 1), self.shift)

    def step(
        self, x: torch.Tensor, t: float, t_next: float, velocity: Velocity, generate: torch.Tensor
    ) -> torch.Tensor:
        """One Euler step of the generated frames; context frames untouched."""
        v = velocity(x, _levels(generate, t))
        return _update(x, x + (t_next - t) * v, generate)

    @torch.no_grad()
    def sample(
        self, velocity: Velocity, x: torch.Tensor, generate: torch.Tensor, start: float = 1.0
    ) -> torch.Tensor:
        """Denoise frames where `generate` (B, T) is True from level `start` to 0."""
        ts = self.timesteps(start).tolist()
        for t, t_next in zip(ts[:-1], ts[1:]):
            x = self.step(x, t, t_next, velocity, generate)
            if self.on_step is not None:
                self.on_step()
        return x


class EulerSampler(FlowSampler):
    """First-order Euler steps: one velocity evaluation per step."""


class HeunSampler(FlowSampler):
    """Second-order Heun (trapezoidal) steps; the last step to level 0 is Euler."""

    def step(self, x, t, t_next, velocity, generate):
        v = velocity(x, _levels(generate, t))
        x_euler = _update(x, x + (t_next - t) * v, generate)
        if t_next <= 0.0:
            return x_euler
        v_next = velocity(x_euler, _levels(generate, t_next))
        return _update(x, x + (t_next - t) * 0.5 * (v + v_next), generate)


SAMPLERS = {"euler": EulerSampler, "heun": HeunSampler}


def make_sampler(cfg: SamplerConfig) -> FlowSampler:
    """The sampler named by `cfg.name`."""
    if cfg.name not in SAMPLERS:
        raise ValueError(f"sampler '{cfg.name}' unknown; choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[cfg.name](cfg.steps, cfg.shift)


def _levels(generate: torch.Tensor, t: float) -> torch.Tensor:
    """(B, T) levels: t on generated frames, 0 on context."""
    return generate.float() * t


def _update(x: torch.Tensor, new: torch.Tensor, generate: torch.Tensor) -> torch.Tensor:
    """`new` on generated frames, `x` exactly on context frames."""
    return torch.where(generate.reshape(*generate.shape, *([1] * (x.dim() - 2))), new, x)
