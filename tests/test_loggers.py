"""The `logger=` knob: TensorBoard event files with losses, learning rate, throughput and sample
videos from a tiny CPU fit; CSV; a missing or unknown logger is one line and exit code 2."""

from __future__ import annotations

import csv
import importlib.util
import struct

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.callbacks import LearningRateMonitor
from torch.utils.data import DataLoader, TensorDataset

from worldsim.cli import main
from worldsim.training.callbacks import SampleVideos
from worldsim.training.trainer import TrainerConfig, lightning_trainer


class Tiny(LightningModule):
    """A linear regression that logs a loss and shows a 4-frame video."""

    def __init__(self):
        super().__init__()
        self.model = torch.nn.Linear(4, 1)

    def training_step(self, batch, idx):
        loss = torch.nn.functional.mse_loss(self.model(batch[0]), batch[1])
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, idx):
        self.log("val/loss", torch.nn.functional.mse_loss(self.model(batch[0]), batch[1]))

    def sample_videos(self, batch):
        return {"clip": np.full((4, 8, 8, 3), 128, np.uint8)}  # (T, H, W, 3)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def _loader(self):
        return DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=4)

    train_dataloader = val_dataloader = _loader


def _event_tags(log_dir) -> dict[str, str]:
    """{tag: 'scalar' | 'image'} of every summary in the TensorBoard event files under log_dir."""
    from tensorboardX.proto import event_pb2

    tags = {}
    for path in log_dir.rglob("events.out.tfevents.*"):
        data, i = path.read_bytes(), 0
        while i < len(data):  # records: length (8), crc (4), event, crc (4)
            (n,) = struct.unpack("<Q", data[i : i + 8])
            event = event_pb2.Event.FromString(data[i + 12 : i + 12 + n])
            i += n + 16
            for v in event.summary.value:
                tags[v.tag] = "image" if v.HasField("image") else "scalar"
    return tags


def _fit(tmp_path, logger: str):
    cfg = TrainerConfig(max_steps=4, precision="32-true", accelerator="cpu", limit_val_batches=1)
    callbacks = [LearningRateMonitor("step"), SampleVideos(ext="gif")]
    trainer = lightning_trainer(
        cfg, tmp_path, callbacks, logger, name="tiny", val_check_interval=2, log_every_n_steps=1
    )
    trainer.fit(Tiny())
    return trainer


def test_tensorboard_logs_losses_lr_throughput_and_videos(tmp_path):
    _fit(tmp_path, "tensorboard")
    tags = _event_tags(tmp_path / "logs")
    assert tags["train/loss"] == tags["val/loss"] == tags["lr-SGD"] == "scalar"
    assert tags["perf/steps_per_second"] == tags["perf/samples_per_second"] == "scalar"
    assert tags["perf/first_step_s"] == "scalar"
    assert tags["videos/clip"] == "image"  # an animated GIF, as TensorBoard shows videos
    assert list((tmp_path / "logs").rglob("videos/clip_step*.gif"))


def test_csv_logger_writes_metrics(tmp_path):
    _fit(tmp_path, "csv")
    (metrics,) = (tmp_path / "logs").rglob("metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    assert "train/loss" in rows[0] and "perf/steps_per_second" in rows[0]
    first = [float(r["perf/first_step_s"]) for r in rows if r["perf/first_step_s"]]
    assert len(first) == 1 and first[0] > 0  # logged once, at the first step


@pytest.mark.parametrize(
    ("logger", "named"), [("wandb", "pip install wandb"), ("mlflow", "tensorboard, csv, wandb")]
)
def test_missing_or_unknown_logger_is_one_line_exit_2(logger, named, capsys):
    if logger == "wandb" and importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here")
    # one knob, one spelling, in both training jobs
    for command, data in (("train-vae", "data.root=/no"), ("train", "data.roots=[/no]")):
        assert main([command, f"logger={logger}", data]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err and "Traceback" not in err
