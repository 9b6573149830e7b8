"""LightningDataModule over an episode store: clips split into train/val by episode."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import lightning as L
from torch.utils.data import DataLoader

from worldsim.data.clips import ClipConfig, ClipDataset, bucket_loader, split_of
from worldsim.data.episode import EpisodeError
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


class EpisodeStores:
    """Several episode stores read as one: episodes are named `k/name` for the k-th store."""

    def __init__(self, roots: list[str]):
        self.stores = [EpisodeStore(r) for r in roots]

    def names(self) -> list[str]:
        return [f"{k}/{n}" for k, store in enumerate(self.stores) for n in store.names()]

    def entry(self, name: str):
        k, episode = name.split("/", 1)
        return self.stores[int(k)].entry(episode)

    def load(self, name: str):
        k, episode = name.split("/", 1)
        return self.stores[int(k)].load(episode)


class EpisodeDataModule(L.LightningDataModule):
    """Train/val clip loaders; episodes that cannot be opened are skipped with one warning each."""

    def __init__(self, cfg: DataConfig):
        super().__init__()
        self.cfg = cfg
        self.train_set: ClipDataset | None = None
        self.val_set: ClipDataset | None = None

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
        split = {n: split_of(n, self.cfg.val_fraction, self.cfg.seed) for n in readable}
        train = [n for n in readable if split[n] == "train"]
        val = [n for n in readable if split[n] == "val"]
        if not train:
            raise ValueError(
                f"no readable training episodes in {self.cfg.root}; "
                "generate some with `worldsim rollout out=...`"
            )
        self.train_set = ClipDataset(store, train, self.cfg.clips)
        self.val_set = ClipDataset(store, val or train[:1], self.cfg.clips)
        if len(self.train_set) == 0:
            raise ValueError(
                f"episodes in {self.cfg.root} are shorter than every clip length "
                f"{self.cfg.clips.lengths} x frame_skip {self.cfg.clips.frame_skip}; "
                "lower data.clips.lengths"
            )

    def _loader(self, dataset: ClipDataset, shuffle: bool) -> DataLoader:
        return bucket_loader(
            dataset, self.cfg.batch_size, shuffle, self.cfg.seed, self.cfg.num_workers, self.trainer
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
