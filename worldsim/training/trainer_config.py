"""The Lightning Trainer knobs both training jobs share (`TrainerConfig`), apart from Lightning: a
job's `--help` and its config errors read them without importing it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainerConfig:
    """Lightning Trainer knobs: length, precision, hardware, validation, EMA."""

    max_steps: int = 20000  # optimiser steps to train (the run ends at this or max_minutes)
    max_minutes: float = 0.0  # wall-clock limit on fitting (0 = none)
    precision: str = "bf16-mixed"  # bf16-mixed | 16-mixed | 32-true
    accelerator: str = "auto"  # auto | cpu | gpu
    strategy: str = "auto"  # auto | ddp | fsdp (or another Lightning strategy name)
    limit_val_batches: int = 4  # batches per validation
    ema_decay: float = 0.999  # weight of the running average per step (EMA weights are exported)
