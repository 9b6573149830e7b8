"""The Lightning Trainer knobs the training jobs share, and the Trainer they build from them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class TrainerConfig:
    """Lightning Trainer knobs: length, precision, hardware, validation, EMA."""

    max_steps: int = 20000
    max_minutes: float = 0.0  # wall-clock limit on fitting (0 = none)
    precision: str = "bf16-mixed"
    accelerator: str = "auto"
    strategy: str = "auto"  # auto | ddp | fsdp
    limit_val_batches: int = 4
    ema_decay: float = 0.999


def lightning_trainer(cfg: TrainerConfig, out: str | Path, callbacks: list, **options: Any):
    """A step-based L.Trainer (validation every `val_check_interval` steps, no sanity check) writing
    under `out`; `options` add or override Trainer arguments."""
    import lightning as L

    args = dict(
        default_root_dir=out,
        max_steps=cfg.max_steps,
        max_time=datetime.timedelta(minutes=cfg.max_minutes) if cfg.max_minutes else None,
        precision=cfg.precision,
        accelerator=cfg.accelerator,
        strategy=cfg.strategy,
        limit_val_batches=cfg.limit_val_batches,
        callbacks=callbacks,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # the bucket sampler splits batches across ranks itself
    )
    return L.Trainer(**{**args, **options})
