"""The Lightning Trainer knobs both training jobs share (`TrainerConfig`), apart from Lightning: a
job's `--help` and its config errors read them without importing it, nor torch (`check_accelerator`
imports torch only to check a GPU asked for)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from worldsim.config import ConfigError


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


def check_accelerator(key: str, accelerator: str) -> None:
    """A one-line ConfigError, before any work, when knob `key` asks for a GPU none of which is
    visible here (Lightning would stop with a traceback once the run had started)."""
    if accelerator in ("gpu", "cuda"):
        import torch  # only a GPU asked for needs it: the other values are refused without

        if not torch.cuda.is_available():
            raise ConfigError(
                f"{key}={accelerator} but no CUDA GPU is visible here; use {key}=auto (the GPU "
                "when there is one) or cpu"
            )
    if accelerator == "tpu" and importlib.util.find_spec("torch_xla") is None:
        raise ConfigError(f"{key}=tpu needs torch_xla, not installed here; use {key}=auto or cpu")
