"""Clip datasets over an episode store: fixed or variable clip lengths, lazy per episode."""

from __future__ import annotations

import warnings
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from envs.base import Captions
from worldsim.data.actions import pad_actions
from worldsim.data.episode import Episode, EpisodeError
from worldsim.data.episode_data_config import ClipConfig
from worldsim.data.pixels import pixels_to_unit
from worldsim.data.store import EpisodeStore


@dataclass(frozen=True)
class ClipRef:
    """One clip: episode, first frame, number of frames (after frame_skip)."""

    episode: str
    start: int
    length: int
    height: int
    width: int


def split_of(name: str, val_fraction: float, seed: int) -> str:
    """'train' or 'val' for an episode, stable across runs and machines (hash of the name)."""
    bucket = zlib.crc32(f"{seed}:{name}".encode()) / 2**32
    return "val" if bucket < val_fraction else "train"


def clip_index(store: EpisodeStore, names: list[str], cfg: ClipConfig) -> list[ClipRef]:
    """Every clip window of `names`, from the manifest alone (no episode is opened)."""
    refs = []
    for name in names:
        entry = store.entry(name)
        for length in cfg.lengths:
            span = (length - 1) * cfg.frame_skip + 1
            for start in range(0, entry.length - span + 1, cfg.stride):
                refs.append(ClipRef(name, start, length, entry.height, entry.width))
    return refs


class ClipDataset(Dataset):
    """Map-style dataset of clips; a bad episode yields None (dropped by `collate_clips`)."""

    def __init__(
        self,
        store: EpisodeStore,
        names: list[str],
        cfg: ClipConfig,
        cache_size: int = 8,
        action_width: int | None = None,  # pad actions to it (stores of several envs mixed)
    ):
        self.store, self.cfg, self.action_width = store, cfg, action_width
        self.refs = clip_index(store, names, cfg)
        self._open: OrderedDict[str, Episode] = OrderedDict()  # memory-mapped, per worker
        self._cache_size = cache_size
        self._bad: set[str] = set()

    def __len__(self) -> int:
        return len(self.refs)

    def _episode(self, name: str) -> Episode | None:
        if name in self._bad:
            return None
        if name not in self._open:
            try:
                self._open[name] = self.store.load(name)
            except EpisodeError as err:
                self._bad.add(name)
                warnings.warn(f"skipping corrupt episode {name}: {err}", stacklevel=2)
                return None
            if len(self._open) > self._cache_size:
                self._open.popitem(last=False)
        self._open.move_to_end(name)
        return self._open[name]

    def _actions(self, ep: Episode, idx: slice) -> torch.Tensor:
        actions = torch.from_numpy(np.array(ep.actions[idx]))  # (T, A)
        return actions if self.action_width is None else pad_actions(actions, self.action_width)

    def __getitem__(self, i: int) -> dict[str, Any] | None:
        ref = self.refs[i]
        ep = self._episode(ref.episode)
        if ep is None:
            return None
        idx = slice(
            ref.start, ref.start + (ref.length - 1) * self.cfg.frame_skip + 1, self.cfg.frame_skip
        )
        try:
            frames = torch.from_numpy(np.array(ep.frames[idx]))  # (T, H, W, 3) uint8
            item = {
                "frames": pixels_to_unit(frames.permute(0, 3, 1, 2)),  # (T, C, H, W) in [-1, 1]
                "actions": self._actions(ep, idx),  # (T, A)
                "caption": Captions(**ep.captions).for_window(ref.start, idx.stop)
                if ep.captions
                else "",
                "episode": ref.episode,
                "start": ref.start,
            }
            for key in self.cfg.truth_keys:
                if key not in ep.truth:
                    raise KeyError(
                        f"truth key {key!r} not in episode {ref.episode} "
                        f"(has {sorted(ep.truth)}); fix data.clips.truth_keys"
                    )
                item[key] = torch.from_numpy(np.array(ep.truth[key][idx]))
        except (OSError, ValueError) as err:  # truncated or damaged arrays surface on access
            self._bad.add(ref.episode)
            warnings.warn(f"skipping corrupt episode {ref.episode}: {err}", stacklevel=2)
            return None
        return item


def collate_clips(items: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Stack same-shaped clips; drop the Nones of corrupt episodes (None if nothing is left)."""
    items = [it for it in items if it is not None]
    if not items:
        return None
    batch: dict[str, Any] = {}
    for key in items[0]:
        values = [it[key] for it in items]
        batch[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return batch


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
    ):
        if not 0 <= rank < num_replicas:
            raise ValueError(
                f"BucketBatchSampler rank {rank} must lie in [0, num_replicas={num_replicas})"
            )
        self.batch_size, self.shuffle, self.seed, self.drop_last = (
            batch_size,
            shuffle,
            seed,
            drop_last,
        )
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0
        self.buckets: dict[tuple[int, int, int], list[int]] = {}
        for i, ref in enumerate(refs):
            self.buckets.setdefault((ref.length, ref.height, ref.width), []).append(i)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
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
            batches = (batches * self.num_replicas)[
                :padded
            ]  # wrapped round, as DistributedSampler pads
            batches = batches[self.rank :: self.num_replicas]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())  # Lightning calls set_epoch before each epoch

    def __len__(self) -> int:
        return len(self._batches())


def bucket_loader(
    dataset: Any, batch_size: int, shuffle: bool, seed: int, num_workers: int, trainer: Any = None
) -> DataLoader:
    """DataLoader of same-size batches over a dataset with `.refs`; under a Trainer with several
    ranks each rank loads its own share (the Trainer must not inject a DistributedSampler: `train`
    turns it off)."""
    ranks, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
    sampler = BucketBatchSampler(
        dataset.refs, batch_size, shuffle, seed, num_replicas=ranks, rank=rank
    )
    return DataLoader(
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
