"""LightningDataModule over an episode store: clips split into train/val by episode."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from worldsim.data.clips import BucketDataModule, ClipConfig, ClipDataset
from worldsim.data.episode import EpisodeError
from worldsim.data.manifest import JoinedDirs
from worldsim.data.store import EpisodeStore


@dataclass
class DataConfig:
    """Where the episodes are and how they are batched."""

    root: str = "data/rollouts"
    roots: list[str] = field(default_factory=list)  # several stores mixed (then `root` is unused)
    clips: ClipConfig = field(default_factory=ClipConfig)
    val_fraction: float = 0.1  # share of episodes held out (by a hash of the name)
    batch_size: int = 8
    num_workers: int = 0
    seed: int = 0


class EpisodeStores(JoinedDirs):
    """Several episode stores read as one: episodes are named `k/name` for the k-th store."""

    def __init__(self, roots: list[str]):
        super().__init__([EpisodeStore(r) for r in roots])


class EpisodeDataModule(BucketDataModule):
    """Train/val clip loaders; episodes that cannot be opened are skipped with one warning each."""

    cfg: DataConfig

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # Trainer.fit calls setup again after a manual call
            return
        store = EpisodeStores(self.cfg.roots) if self.cfg.roots else EpisodeStore(self.cfg.root)
        readable = []
        for name in store.names():
            try:
                store.load(name)  # reads only the .npy headers (memory maps)
                readable.append(name)
            except EpisodeError as err:
                warnings.warn(f"skipping corrupt episode {name}: {err}", stacklevel=2)
        train, val = self.split(readable)
        if not train:
            raise ValueError(
                f"no readable training episodes in {self.cfg.root}; "
                "generate some with `worldsim record out=...`"
            )
        self.train_set = ClipDataset(store, train, self.cfg.clips)
        self.val_set = ClipDataset(store, val or train[:1], self.cfg.clips)
        if len(self.train_set) == 0:
            raise ValueError(
                f"episodes in {self.cfg.root} are shorter than every clip length "
                f"{self.cfg.clips.lengths} x frame_skip {self.cfg.clips.frame_skip}; "
                "lower data.clips.lengths"
            )
