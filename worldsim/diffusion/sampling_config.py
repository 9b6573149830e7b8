"""The knobs of a generation's sampling (guidance scales), apart from the samplers themselves: a
job's `--help` and its config errors read them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GuidanceConfig:
    """Guidance scales: 1 = plain conditional model, 0 = drop that conditioning."""

    text_scale: float = 1.0  # classifier-free guidance scale of the prompt (>1: follow it more)
    action_scale: float = 1.0  # classifier-free guidance scale of the actions
