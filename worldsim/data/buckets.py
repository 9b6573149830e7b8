"""Same-shape batches of clips or latent windows, shuffled per epoch, and the loader that carries
them across an interrupted run.

Lightning hands the epoch to a loader's `sampler` (and `batch_sampler.sampler`), never to a batch
sampler itself, so `BucketBatchSampler` reads the epoch from the trainer when an epoch's
iteration starts; before it did, every epoch repeated the first one's order. And Lightning restarts
an interrupted epoch from its first batch unless the loader can say where it stopped:
`ResumableLoader` counts what it handed out and, restored from a checkpoint, skips that much of the
same epoch's order, so a resumed run trains on the batches an uninterrupted one would have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import lightning as L
import numpy as np
from torch.utils.data import DataLoader, Dataset, Sampler

from worldsim.data.clips import ClipRef, collate_clips, split_of


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of clips sharing (length, height, width), shuffled per epoch from a seed.

    Under data parallelism each of `num_replicas` ranks takes every num_replicas-th batch of the
    same shuffled list (all ranks draw it from the same seed), padded to a multiple of num_replicas
    with its first batches so that every rank runs the same number of steps (an unmatched step would
    hang the gradient all-reduce)."""

    def __init__(
        self,
        refs: list[ClipRef],
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
        epoch: Callable[[], int] = lambda: 0,
    ):
        if not 0 <= rank < num_replicas:
            raise ValueError(
                f"BucketBatchSampler rank {rank} must lie in [0, num_replicas={num_replicas})"
            )
        self.batch_size, self.shuffle = batch_size, shuffle
        self.seed, self.drop_last = seed, drop_last
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = epoch  # the epoch an iteration starting now draws its order for
        self.resume_at: tuple[int, int] | None = None  # (epoch, batches of it to skip)
        self.started = (0, 0)  # (epoch, batches skipped) of the last iteration begun
        self.buckets: dict[tuple[int, int, int], list[int]] = {}
        for i, ref in enumerate(refs):
            self.buckets.setdefault((ref.length, ref.height, ref.width), []).append(i)

    def batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of `epoch`, in order."""
        rng = np.random.default_rng(self.seed + epoch)
        batches = []
        for key in sorted(self.buckets):
            idx = np.array(self.buckets[key])
            if self.shuffle:
                idx = rng.permutation(idx)
            for s in range(0, len(idx), self.batch_size):
                chunk = idx[s : s + self.batch_size].tolist()
                if len(chunk) == self.batch_size or not self.drop_last:
                    batches.append(chunk)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        if self.num_replicas > 1 and batches:
            padded = -(-len(batches) // self.num_replicas) * self.num_replicas
            # wrapped round, as DistributedSampler pads
            batches = (batches * self.num_replicas)[:padded]
            batches = batches[self.rank :: self.num_replicas]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        epoch, skip = self.epoch(), 0
        if self.resume_at is not None:
            resumed, done = self.resume_at
            self.resume_at = None
            skip = done if resumed == epoch else 0  # a checkpoint from an epoch's end: none
        self.started = (epoch, skip)
        return iter(self.batches(epoch)[skip:])

    def __len__(self) -> int:
        return len(self.batches(0))  # the same for every epoch


class ResumableLoader(DataLoader):
    """A DataLoader over a `BucketBatchSampler` that Lightning saves and restores with the
    checkpoint (its `state_dict` / `load_state_dict` protocol): the epoch and how many of its
    batches went to the trainer. Lightning fetches no batch ahead from a loader with a length, so
    what this loader handed out is what the trainer took."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.epoch, self.handed_out = 0, 0

    def __iter__(self) -> Iterator[Any]:
        batches = super().__iter__()  # draws the epoch's order from the sampler, now
        self.epoch, self.handed_out = self.batch_sampler.started
        for batch in batches:
            self.handed_out += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "handed_out": self.handed_out}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batch_sampler.resume_at = (state["epoch"], state["handed_out"])


def bucket_loader(
    dataset: Any, batch_size: int, shuffle: bool, seed: int, num_workers: int, trainer: Any = None
) -> ResumableLoader:
    """Loader of same-size batches over a dataset with `.refs`, each epoch in its own order; under
    a Trainer with several ranks each rank loads its own share (the Trainer must not inject a
    DistributedSampler: `train` turns it off)."""
    ranks, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
    sampler = BucketBatchSampler(
        dataset.refs,
        batch_size,
        shuffle,
        seed,
        num_replicas=ranks,
        rank=rank,
        epoch=(lambda: trainer.current_epoch) if trainer is not None else (lambda: 0),
    )
    return ResumableLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate_clips,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=pins_memory(trainer),
    )


def pins_memory(trainer: Any) -> bool:
    """Whether loaders under `trainer` hand out pinned batches: on CUDA, a copy from pageable
    memory makes the host wait until the GPU has finished every queued step, so the host could
    never run ahead of the GPU; from pinned memory the copy is queued like a kernel."""
    return trainer is not None and trainer.strategy.root_device.type == "cuda"


class BucketDataModule(L.LightningDataModule):
    """Train/val datasets (with `.refs`, see `bucket_loader`) split by episode; subclasses fill
    `train_set` and `val_set` in `setup`. `cfg` has val_fraction, seed, batch_size, num_workers."""

    def __init__(self, cfg: Any):
        super().__init__()
        self.cfg = cfg
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    def split(self, names: list[str]) -> tuple[list[str], list[str]]:
        """Training and validation episodes among `names` (stable hash split, see `split_of`)."""
        split = {n: split_of(n, self.cfg.val_fraction, self.cfg.seed) for n in names}
        return [n for n in names if split[n] == "train"], [n for n in names if split[n] == "val"]

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        return bucket_loader(
            dataset, self.cfg.batch_size, shuffle, self.cfg.seed, self.cfg.num_workers, self.trainer
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
