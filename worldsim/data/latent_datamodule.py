"""LightningDataModule over latent caches: windows of latent frames, normalised, bucketed by size.

Windows of several lengths and episodes of several resolutions mix in one run; each batch holds one
(length, height, width) bucket (`BucketBatchSampler`). Actions are regrouped per latent frame:
latent frame j of a causal VAE with time factor f covers pixel frames 1+f(j-1) .. fj (frame 0 alone
for j=0), so its action vector is those f codec vectors concatenated (zero-padded for j = 0).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from envs.base import Captions
from worldsim.config import ConfigError
from worldsim.data.actions import action_width, pad_actions
from worldsim.data.buckets import BucketDataModule, pins_memory
from worldsim.data.clips import ClipRef
from worldsim.data.latent_cache import TEXT_TABLE
from worldsim.data.latent_data_config import LatentDataConfig
from worldsim.data.manifest import JoinedDirs
from worldsim.models.action_ages import action_ages
from worldsim.models.clock import latent_clock

OPEN_EPISODES = 256  # cached episodes a loader process keeps open (two memory maps each)


def latent_actions(actions: torch.Tensor, time_factor: int, ages: int = 0) -> torch.Tensor:
    """Per-pixel-frame actions (..., 1 + f k, A) -> per-latent-frame (..., 1 + k, f A); with
    `ages` (model.action_ages) their ages follow, grouped alike: (..., 1 + k, 2 f A), counted from
    the first frame given (`action_ages`)."""
    if ages:
        grouped = (latent_actions(a, time_factor) for a in (actions, action_ages(actions, ages)))
        return torch.cat(list(grouped), dim=-1)
    frames = actions.shape[-2]
    if (frames - 1) % time_factor:
        raise ValueError(
            f"{frames} action frames do not fill latent frames of time factor {time_factor}; "
            f"need 1 + {time_factor} k"
        )
    pad = torch.zeros(
        *actions.shape[:-2],
        time_factor - 1,
        actions.shape[-1],
        dtype=actions.dtype,
        device=actions.device,
    )
    padded = torch.cat([pad, actions], dim=-2)  # (..., f (1 + k), A)
    return padded.reshape(
        *actions.shape[:-2], (frames - 1) // time_factor + 1, time_factor * actions.shape[-1]
    )


def pixel_span(start: int, length: int, time_factor: int) -> tuple[int, int]:
    """Pixel frames [a, b) covered by latent frames [start, start + length)."""
    a = 0 if start == 0 else 1 + time_factor * (start - 1)
    return a, time_factor * (start + length - 1) + 1


class LatentCaches(JoinedDirs):
    """Latent caches of one autoencoder read as one: names `k/episode`, pooled channel stats."""

    def __init__(self, roots: list[str]):
        from worldsim.data.latent_cache import LatentCache

        if not roots:
            raise ConfigError(
                "data.roots is empty; pass data.roots=[DIR,...] of `worldsim encode` outputs"
            )
        super().__init__([LatentCache(r) for r in roots])
        self.with_text = [(c.root / TEXT_TABLE).is_file() for c in self.parts]  # per cache
        infos = [c.autoencoder_info() for c in self.parts]
        if any(i != infos[0] for i in infos[1:]):
            raise ConfigError(
                f"latent caches {roots} were encoded by different autoencoders ({infos}); "
                "re-encode them with one checkpoint"
            )

    def stats(self) -> dict[str, list[float]]:
        """Per-channel mean/std pooled over every episode of every cache."""
        from worldsim.data.latent_cache import pooled_stats

        if len(self.parts) == 1:
            return self.parts[0].stats()
        return pooled_stats([c.entry(n).moments for c in self.parts for n in c.names()])

    def autoencoder_info(self) -> dict[str, Any]:
        return self.parts[0].autoencoder_info()

    def has_text(self, name: str) -> bool:
        """Whether episode `name`'s cache holds caption embeddings (else it trains without text)."""
        return self.with_text[int(name.split("/", 1)[0])]

    def text_table(self):
        """Caption-sentence embeddings of every cache, merged (None when no cache has text)."""
        tables = [t for t in (c.text_table() for c in self.parts) if t is not None]
        if not tables:
            return None
        merged = tables[0]
        for table in tables[1:]:
            if table.key != merged.key:
                raise ConfigError(
                    f"latent caches {[str(c.root) for c in self.parts]} hold text of different "
                    f"encoders ({merged.key!r}, {table.key!r}); re-encode them with one text.name"
                )
            merged.rows.update(table.rows)
        return merged


def drawn_times(first_step: int, oversample_steps: list[int], weight: int) -> int:
    """How often a window whose first latent frame ends at env step `first_step` is drawn:
    `weight` inside any [period, first, end] triple of `oversample_steps`
    (data.oversample_steps), else once."""
    triples = zip(*[iter(oversample_steps)] * 3)  # [p, f, e, p, f, e] -> (p, f, e), (p, f, e)
    inside = any(first <= first_step % period < end for period, first, end in triples)
    return weight if inside else 1


class LatentWindows(Dataset):
    """Normalised latent windows (T', c, h, w), actions per latent frame, the window's caption,
    and each latent frame's env step (the clock). `oversample` ([period, first, end, ...], weight):
    windows starting at those steps are listed `weight` times (data.oversample_steps). `ages`
    (model.action_ages): the actions carry their ages too. `objects` (flow.object_weight > 0): the
    windows carry each latent cell's object share (T', h, w) too, from every episode's objects.npy
    (read only when asked: runs without the knob keep their memory and speed)."""

    def __init__(
        self,
        cache: Any,
        names: list[str],
        lengths: list[int],
        stride: int,
        width: int,
        oversample: tuple[list[int], int] = ([], 1),
        ages: int = 0,
        objects: bool = False,
    ):
        self.cache, self.width, self.ages, self.objects = cache, width, ages, objects
        stats = cache.stats()
        self.mean = torch.tensor(stats["mean"], dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(stats["std"], dtype=torch.float32)[:, None, None]
        self.time_factor = int(cache.autoencoder_info()["time_factor"])
        self.refs: list[ClipRef] = []
        for name in names:
            frames, _, h, w = cache.entry(name).shape
            for length in lengths:
                for start in range(0, frames - length + 1, stride):
                    times = drawn_times(self.time_factor * start, *oversample)
                    self.refs.extend([ClipRef(name, start, length, h, w)] * times)

    def __len__(self) -> int:
        return len(self.refs)

    def latents_of(self, ep: Any, frames: slice = slice(None)) -> torch.Tensor:
        """Normalised latent `frames` (T', c, h, w) of cached episode `ep`: only those are read."""
        z = torch.from_numpy(np.array(ep.latents[frames], np.float32))  # (T', c, h, w)
        return (z - self.mean) / self.std

    def actions_of(self, ep: Any) -> torch.Tensor:
        """Actions of cached episode `ep` per latent frame (T', f A), with `ages` their ages from
        the episode's reset after them (T', 2 f A): a window's are its episode's, sliced."""
        full = pad_actions(torch.from_numpy(np.array(ep.actions, np.float32)), self.width)  # (T, A)
        tf = self.time_factor
        return latent_actions(full[: 1 + tf * ((full.shape[0] - 1) // tf)], tf, self.ages)

    def objects_of(self, ep: Any, frames: slice = slice(None)) -> torch.Tensor:
        """Object shares of latent `frames` (T', h, w) of cached episode `ep`, as float32."""
        return torch.from_numpy(np.array(ep.objects[frames], np.float32))  # (T', h, w)

    def episode_arrays(self, ep: Any) -> tuple[torch.Tensor, ...]:
        """Cached episode `ep` whole: normalised latents (T', c, h, w), actions (T', f A), and
        with `objects` its object shares (T', h, w)."""
        arrays = self.latents_of(ep), self.actions_of(ep)
        return (*arrays, self.objects_of(ep)) if self.objects else arrays

    def opened(self, name: str) -> tuple[Any, torch.Tensor]:
        """Cached episode `name` (memory maps) and its actions per latent frame, kept open for its
        next windows: reopening both files and regrouping every action for each window was most
        of a loader batch's time. At most OPEN_EPISODES stay open per process."""
        episodes = self.__dict__.setdefault("_opened", OrderedDict())
        if name in episodes:
            episodes.move_to_end(name)
        else:
            ep = self.cache.load(name)
            episodes[name] = ep, self.actions_of(ep)
            if len(episodes) > OPEN_EPISODES:
                episodes.popitem(last=False)
        return episodes[name]

    def __getstate__(self) -> dict[str, Any]:
        """Without the open episodes: each loader worker opens its own."""
        return {k: v for k, v in self.__dict__.items() if k != "_opened"}

    def caption(self, ref: ClipRef, ep: Any) -> str:
        """The caption of window `ref` of cached episode `ep`: its pixel span's ("" without
        text)."""
        if not (ep.captions and self.cache.has_text(ref.episode)):
            return ""
        span = pixel_span(ref.start, ref.length, self.time_factor)
        return Captions(**ep.captions).for_window(*span)

    def __getitem__(self, i: int) -> dict[str, Any]:
        ref = self.refs[i]
        ep, actions = self.opened(ref.episode)
        frames = slice(ref.start, ref.start + ref.length)
        window = {
            "latents": self.latents_of(ep, frames),  # (T', c, h, w)
            "actions": actions[frames].clone(),  # (T', f A): not a view of the kept episode
            "caption": self.caption(ref, ep),
            "clock": latent_clock(self.time_factor * ref.start, ref.length, self.time_factor),
            "episode": ref.episode,
            "start": ref.start,
        }
        if self.objects:
            window["objects"] = self.objects_of(ep, frames)  # (T', h, w)
        return window


class LatentDataModule(BucketDataModule):
    """Train/val latent windows split by episode (hash of the name); `action_ages` (the model's
    model.action_ages): the windows' actions carry their ages; `objects` (flow.object_weight > 0):
    the training windows carry their cells' object shares."""

    cfg: LatentDataConfig

    def __init__(self, cfg: LatentDataConfig, action_ages: int = 0, objects: bool = False):
        super().__init__(cfg)
        self.action_ages, self.objects = action_ages, objects

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        cache = LatentCaches(self.cfg.roots)
        cache.check()  # refuses an incomplete/corrupt cache unless the job passed strict=false
        names = cache.names()
        train, val = self.split(names)
        if not train:
            raise ConfigError(
                f"no episodes in latent caches {self.cfg.roots}; run `worldsim encode` first"
            )
        if not val:
            print(  # one plain line, like the jobs' own (a warning showed Lightning's file)
                f"train: latent caches {self.cfg.roots} hold no validation episode; validating on "
                "one training episode",
                file=sys.stderr,
            )
        width = action_width(cache, names)
        oversample = self.cfg.oversample_steps, self.cfg.oversample_weight
        ages = self.action_ages
        self.train_set = LatentWindows(
            cache, train, self.cfg.lengths, self.cfg.stride, width, oversample, ages, self.objects
        )
        # without objects: the validation loss stays the unweighted flow loss, comparable across
        # runs with any flow.object_weight
        self.val_set = LatentWindows(
            cache, val or train[:1], self.cfg.lengths, self.cfg.stride, width, ages=ages
        )
        if len(self.train_set) == 0:
            raise ConfigError(
                f"episodes in {self.cfg.roots} are shorter than every window length "
                f"{self.cfg.lengths} (latent frames); lower data.lengths"
            )

    def train_dataloader(self) -> DataLoader:
        """Windows through loader workers, or (`resident`) window ids gathered on the device by
        `on_after_batch_transfer`."""
        if not self.cfg.resident:
            return super().train_dataloader()
        from worldsim.data.resident import WindowIds, bucket_sizes

        self.resident = None  # built on the first batch, on its device
        trainer = self.trainer
        rank = trainer.global_rank if trainer is not None else 0
        ids = WindowIds(
            bucket_sizes(self.train_set.refs),
            self.cfg.batch_size,
            self.cfg.seed,
            rank,
            (lambda: trainer.global_step) if trainer is not None else (lambda: 0),
        )
        return DataLoader(ids, batch_size=None, pin_memory=pins_memory(trainer))

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if not (isinstance(batch, dict) and "ids" in batch):
            return batch
        if self.resident is None:
            from worldsim.data.resident import ResidentWindows

            module = self.trainer.lightning_module
            self.resident = ResidentWindows(self.train_set, batch["ids"].device, module.encode_text)
        return self.resident.gather(batch["bucket"], batch["ids"])
