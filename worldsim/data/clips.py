"""Clip datasets over an episode store: fixed or variable clip lengths, lazy per episode."""

from __future__ import annotations

import warnings
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

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
