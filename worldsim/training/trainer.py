"""The Lightning Trainer knobs the training jobs share, and the Trainer they build from them.

The Trainer prints one progress bar (`StepProgress`) and logs to the job's choice of
`logger=tensorboard|csv|wandb` (a top-level knob of each training job); the rest of Lightning's
chatter (hardware lines, tips, seeds, model summaries) is switched off here.
"""

from __future__ import annotations

import datetime
import logging
import warnings
import zipfile
from pathlib import Path
from typing import Any

from lightning.pytorch.strategies import StrategyRegistry

from worldsim.config import ConfigError
from worldsim.training.trainer_config import TrainerConfig

STRATEGIES = ("auto", *StrategyRegistry.available_strategies())  # the `strategy` knob's choices


def quiet_lightning() -> None:
    """Keep Lightning's INFO lines (seed, GPU/TPU availability, tips, "fit stopped") and a
    deprecation and a warning that do not apply to step-based runs off the terminal; its other
    warnings still show."""
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # logging counts steps, not batches of one epoch: short epochs are normal here
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
    # a rerun resumes in its own out= (another config's checkpoints are cleared first)
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    # a resumed run keeps its step count and draws fresh shuffled windows: that the epoch's
    # loader restarts is harmless for step-based training
    warnings.filterwarnings("ignore", message=r"You.re resuming from a checkpoint that ended")


quiet_lightning()  # on import: the jobs seed (a Lightning INFO line) before they build a Trainer


def resume_checkpoint(out: str | Path, resume: str) -> str | None:
    """The checkpoint a run resumes from: `auto` = <out>/checkpoints/last.ckpt if a run left one,
    "" = none, `last` = that file (must exist), or a path (must exist)."""
    last = Path(out) / "checkpoints" / "last.ckpt"
    if not resume or resume == "auto" and not last.is_file():
        return None
    # auto's file is looked at too: a run killed while last.ckpt was moved into place cuts it short
    path = last if resume in ("auto", "last") else Path(resume)
    if not path.is_file():
        raise ConfigError(
            f"resume={resume}: {path} does not exist; pass an existing checkpoint, "
            "resume=auto (the last one if any) or resume='' (start afresh)"
        )
    if not zipfile.is_zipfile(path):  # torch.save writes a zip: a cheap look, not a full load
        raise ConfigError(
            f"resume={resume}: {path} is not a training checkpoint (empty, cut short or another "
            "kind of file); pass one from <out>/checkpoints, or resume='' (start afresh)"
        )
    return str(path)


def lightning_trainer(
    cfg: TrainerConfig,
    out: str | Path,
    callbacks: list,
    logger: str,
    name: str = "train",
    **options: Any,
):
    """A step-based L.Trainer (validation every `val_check_interval` steps, no sanity check) writing
    under `out`, with one progress bar called `name` and the logger called `logger`; `options` add
    or override Trainer arguments."""
    import lightning as L
    import torch

    from worldsim.training.atomic_checkpoint_io import AtomicCheckpointIO
    from worldsim.training.callbacks import LastCheckpoint
    from worldsim.training.loggers import Throughput, make_logger
    from worldsim.training.progress import StepProgress

    args = dict(
        default_root_dir=out,
        max_steps=cfg.max_steps,
        max_time=datetime.timedelta(minutes=cfg.max_minutes) if cfg.max_minutes else None,
        # CPUs run bf16 autocast far slower than float32: mixed precision only with CUDA
        precision=cfg.precision
        if torch.cuda.is_available() or cfg.precision.startswith("32")
        else "32-true",
        accelerator=cfg.accelerator,
        strategy=cfg.strategy,
        limit_val_batches=cfg.limit_val_batches,
        callbacks=[
            *callbacks,
            LastCheckpoint(Path(out) / "checkpoints"),
            StepProgress(name),
            Throughput(),
        ],
        logger=make_logger(logger, out),
        enable_model_summary=False,  # StepProgress prints the parameter count in one line
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # the bucket sampler splits batches across ranks itself
        plugins=[AtomicCheckpointIO()],  # a killed run never leaves a cut-short checkpoint
    )
    return L.Trainer(**{**args, **options})
