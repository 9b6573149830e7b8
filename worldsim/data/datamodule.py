"""LightningDataModule over an episode store: clips split into train/val by episode."""

from __future__ import annotations

from worldsim.config import ConfigError
from worldsim.data.actions import action_width
from worldsim.data.buckets import BucketDataModule
from worldsim.data.clips import ClipDataset
from worldsim.data.episode_data_config import DataConfig
from worldsim.data.store import open_stores


class EpisodeDataModule(BucketDataModule):
    """Train/val clip loaders over complete stores; an incomplete or corrupt one is refused unless
    the job accepted it with strict=false (`ManifestDir.check`), and then its unreadable episodes
    are left out. A store with no clip to train on is a ConfigError: a job calls `setup` before it
    writes anything."""

    cfg: DataConfig

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # Trainer.fit calls setup again after a manual call
            return
        store = open_stores(self.cfg)
        store.check()  # unreadable episodes of a store accepted with strict=false are left out
        train, val = self.split(store.names())
        if not train:
            raise ConfigError(
                f"no readable training episodes in {self.cfg.root}; "
                "generate some with `worldsim record out=...`"
            )
        # stores of several envs mix action widths: each clip's are padded to the widest
        width = action_width(store, train + val) if self.cfg.roots else None
        self.train_set = ClipDataset(store, train, self.cfg.clips, action_width=width)
        self.val_set = ClipDataset(store, val or train[:1], self.cfg.clips, action_width=width)
        if len(self.train_set) == 0:
            raise ConfigError(
                f"episodes in {self.cfg.root} are shorter than every clip length "
                f"{self.cfg.clips.lengths} x frame_skip {self.cfg.clips.frame_skip}; "
                "lower data.clips.lengths"
            )
