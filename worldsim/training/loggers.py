"""The `logger=tensorboard|csv|wandb` knob of the training jobs, on Lightning's own loggers.

`worldsim train` and `worldsim train-vae` both spell it `logger=` (a top-level knob of each).

Whichever is chosen gets the modules' losses, the learning rate (LearningRateMonitor), the
throughput (`Throughput`) and the sample videos (`log_video`, called by `SampleVideos`). Logs lie
in `<out>/logs/version_N/` (TensorBoard, CSV) or `<out>/wandb/`.
"""

from __future__ import annotations

import importlib.util
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from PIL import Image

from worldsim.training.logger_names import check_logger


def make_logger(name: str, out: str | Path) -> Logger:
    """Lightning's logger called `name`, writing under `out`."""
    check_logger(name)
    if name == "tensorboard":
        return TensorBoardLogger(out, name="logs", default_hp_metric=False)
    if name == "wandb":
        return WandbLogger(save_dir=str(out), project="worldsim", name=Path(out).name)
    return CSVLogger(out, name="logs")


def _gif(frames: np.ndarray, fps: float) -> bytes:
    """(T, H, W, 3) uint8 frames as an endlessly looping GIF."""
    images = [Image.fromarray(f) for f in frames]
    buffer = io.BytesIO()
    images[0].save(
        buffer, "GIF", save_all=True, append_images=images[1:], duration=1000 / fps, loop=0
    )
    return buffer.getvalue()


def log_video(trainer: Trainer, tag: str, frames: np.ndarray, path: Path, fps: float) -> None:
    """Hand a written sample video ((T, H, W, 3) uint8, saved at `path`) to each logger that
    shows videos: TensorBoard as an animated image, Weights & Biases as a video file."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            writer = logger.experiment
            summary = importlib.import_module(
                "tensorboardX.proto.summary_pb2"
                if type(writer).__module__.startswith("tensorboardX")
                else "tensorboard.compat.proto.summary_pb2"
            ).Summary
            t, h, w, c = frames.shape
            image = summary.Image(
                height=h, width=w, colorspace=c, encoded_image_string=_gif(frames, fps)
            )
            writer._get_file_writer().add_summary(
                summary(value=[summary.Value(tag=tag, image=image)]), trainer.global_step
            )
        elif isinstance(logger, WandbLogger):
            import wandb

            logger.experiment.log({tag: wandb.Video(str(path), fps=fps)}, step=trainer.global_step)


def write_metrics(trainer: Trainer, metrics: dict[str, float], step: int) -> None:
    """`metrics` written once, at `step`, to every logger: for values measured at one step
    (`LightningModule.log` drops them between logging steps or repeats the last at each)."""
    for logger in trainer.loggers:
        logger.log_metrics(metrics, step)


def _batch_size(batch: Any) -> int:
    """Samples in a batch: the leading size of its first tensor (batches are tensors, tuples
    or dicts of them)."""
    if isinstance(batch, torch.Tensor):
        return batch.shape[0]
    items = (
        batch.values()
        if isinstance(batch, dict)
        else batch
        if isinstance(batch, (list, tuple))
        else []
    )
    return next((n for item in items if (n := _batch_size(item))), 0)


class Throughput(Callback):
    """Log `perf/steps_per_second` and `perf/samples_per_second` every `log_every_n_steps`, and
    once `perf/first_step_s`: the seconds from the start of fitting to the end of the first
    step (compilation, the sanity check, a first rollout bank: a GPU run's fixed cost, game
    RESULTS section 53)."""

    def __init__(self) -> None:
        self.since: tuple[float, int] | None = None  # (time, step) of the last log
        self.samples = 0
        self.fit_start = 0.0

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.fit_start = time.monotonic()

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        self.samples += _batch_size(batch)
        now, step = time.monotonic(), trainer.global_step
        if self.since is None:  # the first step includes the warm-up
            if pl_module.device.type == "cuda":  # once: the step's kernels, not their queueing
                torch.cuda.synchronize(pl_module.device)
                now = time.monotonic()
            write_metrics(trainer, {"perf/first_step_s": now - self.fit_start}, step)
            self.since, self.samples = (now, step), 0
            return
        if step % trainer.log_every_n_steps or now <= self.since[0]:
            return
        elapsed = now - self.since[0]
        metrics = {
            "perf/steps_per_second": (step - self.since[1]) / elapsed,
            "perf/samples_per_second": self.samples * trainer.world_size / elapsed,
        }
        write_metrics(trainer, metrics, step)
        self.since, self.samples = (now, step), 0
