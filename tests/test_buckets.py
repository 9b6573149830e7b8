"""Bucketed batches: same shapes per batch, one order per epoch under a Trainer, and a run resumed
mid-epoch trains on the batches an uninterrupted run would."""

from types import SimpleNamespace

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import Dataset

from worldsim.data.buckets import BucketBatchSampler, BucketDataModule
from worldsim.data.clips import ClipConfig, ClipRef, clip_index


def test_variable_lengths_and_resolutions_are_bucketed(small_store):
    refs = clip_index(small_store, small_store.names(), ClipConfig(lengths=[5, 9], stride=6))
    sampler = BucketBatchSampler(refs, batch_size=4, shuffle=True, seed=0)
    shapes = {(refs[i].length, refs[i].height, refs[i].width) for batch in sampler for i in batch}
    assert len(shapes) == 4  # 2 lengths x 2 resolutions
    for batch in sampler:
        assert len({(refs[i].length, refs[i].height, refs[i].width) for i in batch}) == 1
    assert sorted(i for b in sampler for i in b) == list(range(len(refs)))


def test_ranks_take_disjoint_equal_shares_of_the_same_shuffled_batches(small_store):
    refs = clip_index(small_store, small_store.names(), ClipConfig(lengths=[5, 9], stride=6))
    whole = list(BucketBatchSampler(refs, batch_size=3, shuffle=True, seed=0))
    shares = [
        list(BucketBatchSampler(refs, batch_size=3, shuffle=True, seed=0, num_replicas=3, rank=r))
        for r in range(3)
    ]
    steps = -(-len(whole) // 3)
    assert [len(s) for s in shares] == [steps] * 3  # equal steps per rank
    interleaved = [b for s in zip(*shares) for b in s]
    assert (
        interleaved[: len(whole)] == whole
        and interleaved[len(whole) :] == whole[: 3 * steps - len(whole)]
    )
    with pytest.raises(ValueError, match="rank 3"):
        BucketBatchSampler(refs, batch_size=3, shuffle=True, num_replicas=3, rank=3)


class Numbers(Dataset):
    """Item i is the number i; 16 refs of one shape: 4 batches of 4 an epoch."""

    refs = [ClipRef("ep", i, 1, 1, 1) for i in range(16)]

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i: int) -> dict:
        return {"x": torch.tensor([float(i)])}


class NumbersData(BucketDataModule):
    def setup(self, stage=None) -> None:
        self.train_set = self.val_set = Numbers()


class Recorder(L.LightningModule):
    """Trains on nothing; records each step's batch."""

    def __init__(self, seen: list):
        super().__init__()
        self.w, self.seen = torch.nn.Parameter(torch.zeros(1)), seen

    def training_step(self, batch, i):
        self.seen.append(batch["x"].flatten().int().tolist())
        return (self.w * batch["x"]).sum()

    def validation_step(self, batch, i):
        """Never run (limit_val_batches=0); the datamodule has a validation loader."""

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(tmp_path, max_steps: int, resume=None, every=None) -> list:
    seen = []
    data = NumbersData(SimpleNamespace(batch_size=4, seed=0, num_workers=0))
    trainer = L.Trainer(
        max_steps=max_steps,
        limit_val_batches=0,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ModelCheckpoint(tmp_path, every_n_train_steps=every, save_top_k=-1)]
        if every
        else [],
        enable_checkpointing=bool(every),
    )
    trainer.fit(Recorder(seen), datamodule=data, ckpt_path=resume)
    return seen


def test_each_epoch_under_a_trainer_draws_its_own_order(tmp_path):
    seen = fit(tmp_path, max_steps=12)  # 3 epochs
    epochs = [seen[0:4], seen[4:8], seen[8:12]]
    assert all(sorted(i for b in e for i in b) == list(range(16)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]


def test_a_run_resumed_mid_epoch_trains_on_the_batches_of_an_uninterrupted_run(tmp_path):
    whole = fit(tmp_path / "whole", max_steps=10)
    first = fit(tmp_path / "cut", max_steps=7, every=6)  # its last checkpoint: epoch 1, batch 2
    (checkpoint,) = (tmp_path / "cut").glob("*step=6.ckpt")
    # resumed where it ran, with the callback that wrote the checkpoint, as Lightning asks
    rest = fit(tmp_path / "cut", max_steps=10, resume=checkpoint, every=6)
    assert first[:6] + rest == whole
