"""EMA and sample-video callbacks on a toy LightningModule."""

from __future__ import annotations

import types

import lightning as L
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from worldsim.training.callbacks import EMA, SampleVideos


class Toy(L.LightningModule):
    """A linear regressor that records the weights it sees during validation."""

    def __init__(self):
        super().__init__()
        self.model = torch.nn.Linear(4, 1)
        self.seen_in_val: list[torch.Tensor] = []
        self.history: list[torch.Tensor] = []  # weights after every optimiser step

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.model(x), y)

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.history.append(self.model.weight.detach().clone())

    def validation_step(self, batch, batch_idx):
        self.seen_in_val.append(self.model.weight.detach().clone())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def sample_videos(self, batch):
        return {"toy": np.zeros((3, 8, 8, 3), np.uint8)}


def _loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


def _trainer(tmp_path, callbacks, max_epochs):
    return L.Trainer(
        max_epochs=max_epochs,
        callbacks=callbacks,
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
    )


def _expected_ema(history, start, decay):
    ema = start.clone()
    for n, w in enumerate(history):
        d = min(decay, (1 + n) / (10 + n))
        ema = ema + (1 - d) * (w - ema)
    return ema


def test_ema_is_used_for_validation_and_training_weights_come_back(tmp_path):
    torch.manual_seed(0)
    model = Toy()
    start = model.model.weight.detach().clone()
    ema = EMA(decay=0.9)
    _trainer(tmp_path, [ema], max_epochs=2).fit(model, _loader(), _loader())
    assert torch.allclose(
        model.seen_in_val[-1], _expected_ema(model.history, start, 0.9), atol=1e-6
    )
    assert torch.equal(model.model.weight, model.history[-1])  # swapped back after validation
    assert not torch.allclose(model.history[-1], model.seen_in_val[-1])


def test_checkpoint_holds_ema_weights_and_resume_restores_training_weights(tmp_path):
    torch.manual_seed(0)
    model = Toy()
    trainer = _trainer(tmp_path, [EMA(decay=0.9)], max_epochs=1)
    trainer.fit(model, _loader(), _loader())
    trainer.save_checkpoint(tmp_path / "a.ckpt")
    ckpt = torch.load(tmp_path / "a.ckpt", weights_only=False)
    assert torch.allclose(ckpt["state_dict"]["model.weight"], model.seen_in_val[-1])

    resumed = Toy()
    ema = EMA(decay=0.9)
    trainer = _trainer(tmp_path, [ema], max_epochs=1)  # already finished: fit only restores
    trainer.fit(resumed, _loader(), _loader(), ckpt_path=tmp_path / "a.ckpt")
    assert torch.equal(resumed.model.weight, model.history[-1])
    assert torch.allclose(ema._ema[0], model.seen_in_val[-1])
    assert ema.num_updates == len(model.history)


def test_sample_videos_writes_one_file_per_video_per_validation(tmp_path):
    videos = SampleVideos(every_n_epochs=1, ext="gif")
    _trainer(tmp_path, [videos], max_epochs=2).fit(Toy(), _loader(), _loader())
    assert [p.name for p in videos.written] == ["toy_step0000004.gif", "toy_step0000008.gif"]
    assert all(p.is_file() for p in videos.written)


def test_ema_refuses_fsdp_sharded_weights_on_several_ranks():
    from lightning.pytorch.strategies import (
        FSDPStrategy,
    )  # a Trainer with it needs GPUs; the strategy does not

    module = L.LightningModule()
    module.model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="train.ema_decay=0"):
        EMA().on_fit_start(types.SimpleNamespace(world_size=2, strategy=FSDPStrategy()), module)
    EMA().on_fit_start(
        types.SimpleNamespace(world_size=1, strategy=FSDPStrategy()), module
    )  # one rank: whole weights
