"""Training windows resident in accelerator memory, gathered by index on the device.

A small DiT on a big GPU otherwise waits on the host every step: loader workers open episodes and
cut windows, the batch is collated and copied, and captions are embedded in the training process.
Here every training episode is loaded once, normalised, into one tensor per latent resolution on
the device, and every distinct window caption is embedded once; a batch is then `B` window ids
drawn on the host (a few hundred bytes) and three gathers on the device. The windows, their
captions and their values are those of `LatentWindows`, so a resident run and a loader run train
on the same data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from worldsim.models.clock import latent_clock
from worldsim.models.dit import TextBatch

CAPTION_CHUNK = 1024  # captions embedded per call while the resident text is built


@dataclass
class Bucket:
    """Windows of one (length, height, width), over the episodes of that resolution."""

    latents: torch.Tensor  # (N, c, h, w) normalised latent frames of the episodes, concatenated
    actions: torch.Tensor  # (N, f A) actions per latent frame, aligned with `latents`
    starts: torch.Tensor  # (W,) long: row of each window's first frame in `latents`
    captions: torch.Tensor  # (W,) long: row of each window's caption in the resident text
    first_steps: torch.Tensor  # (W,) long: env step of each window's first latent frame
    length: int  # latent frames per window
    objects: torch.Tensor | None = None  # (N, h, w) object share per cell, aligned with `latents`


def bucket_keys(refs: list[Any]) -> list[tuple[int, int, int]]:
    """The (length, height, width) buckets of window refs, in the order bucket ids index them."""
    return sorted({(r.length, r.height, r.width) for r in refs})


def bucket_sizes(refs: list[Any]) -> list[int]:
    """Windows per bucket, in `bucket_keys` order."""
    counts = Counter((r.length, r.height, r.width) for r in refs)
    return [counts[k] for k in bucket_keys(refs)]


class ResidentWindows:
    """Every window of a `LatentWindows` on `device`; `gather(bucket, ids)` is a training batch."""

    def __init__(
        self,
        windows: Any,  # a LatentWindows
        device: torch.device | str,
        embed: Callable[[list[str]], TextBatch | None] | None = None,
    ):
        keys = bucket_keys(windows.refs)
        # per size: each episode's (latents, actions) or (latents, actions, objects)
        frames: dict[tuple[int, int], list[tuple[torch.Tensor, ...]]] = {}
        rows: dict[tuple[int, int], int] = {}  # resolution -> latent frames stacked so far
        first_row: dict[str, int] = {}  # episode -> row of its first frame in its resolution's
        caption_row: dict[str, int] = {}
        per_bucket: dict[tuple, tuple[list[int], ...]] = {k: ([], [], []) for k in keys}
        ep, loaded = None, None
        for ref in windows.refs:  # grouped by episode
            size = (ref.height, ref.width)
            if loaded != ref.episode:
                ep, loaded = windows.cache.load(ref.episode), ref.episode
            if ref.episode not in first_row:
                arrays = windows.episode_arrays(ep)
                first_row[ref.episode] = rows.get(size, 0)
                rows[size] = first_row[ref.episode] + len(arrays[0])
                frames.setdefault(size, []).append(arrays)
            caption = windows.caption(ref, ep)
            starts, captions, first_steps = per_bucket[(ref.length, *size)]
            starts.append(first_row[ref.episode] + ref.start)
            captions.append(caption_row.setdefault(caption, len(caption_row)))
            first_steps.append(windows.time_factor * ref.start)
        stacked = {
            size: tuple(torch.cat(parts).to(device) for parts in zip(*eps, strict=True))
            for size, eps in frames.items()
        }
        self.time_factor = windows.time_factor
        self.buckets = []
        for key in keys:
            latents, actions, *objects = stacked[key[1:]]  # objects: when the windows carry them
            columns = per_bucket[key]  # starts, captions, first steps
            starts, captions, first_steps = (torch.tensor(c, device=device) for c in columns)
            self.buckets.append(
                Bucket(
                    latents=latents,
                    actions=actions,
                    starts=starts,
                    captions=captions,
                    first_steps=first_steps,
                    length=key[0],
                    objects=objects[0] if objects else None,
                )
            )
        self.text = embed_captions(list(caption_row), embed, device) if embed else None

    def sizes(self) -> list[int]:
        """Windows per bucket."""
        return [len(b.starts) for b in self.buckets]

    def text_rows(self, bucket: int, ids: torch.Tensor) -> TextBatch | None:
        """The caption embeddings of windows `ids` (B,) of bucket `bucket` (None without text)."""
        if self.text is None:
            return None
        rows = self.buckets[bucket].captions[ids.to(self.buckets[bucket].starts.device)]
        return TextBatch(
            self.text.tokens[rows].float(), self.text.mask[rows], self.text.pooled[rows].float()
        )

    def gather(self, bucket: int, ids: torch.Tensor) -> dict[str, object]:
        """Windows `ids` (B,) of bucket `bucket` -> {"latents" (B, T', c, h, w), "actions"
        (B, T', f A), "text" TextBatch or None, "clock" (B, T') env steps, and where the windows
        carry them "objects" (B, T', h, w)}, on the device."""
        b = self.buckets[bucket]
        ids = ids.to(b.starts.device)
        frames = b.starts[ids, None] + torch.arange(b.length, device=ids.device)  # (B, T')
        text = self.text_rows(bucket, ids)
        clock = latent_clock(b.first_steps[ids], b.length, self.time_factor)  # (B, T')
        batch = {
            "latents": b.latents[frames],
            "actions": b.actions[frames],
            "text": text,
            "clock": clock,
        }
        if b.objects is not None:
            batch["objects"] = b.objects[frames]  # (B, T', h, w)
        return batch


def embed_captions(
    captions: list[str], embed: Callable[[list[str]], TextBatch | None], device
) -> TextBatch | None:
    """Every caption embedded once, in chunks, kept on `device` in float16 (the text tables hold
    float16 embeddings, so nothing is rounded)."""
    parts = []
    for s in range(0, len(captions), CAPTION_CHUNK):
        batch = embed(captions[s : s + CAPTION_CHUNK])
        if batch is None:
            return None
        parts.append(TextBatch(batch.tokens.half(), batch.mask, batch.pooled.half()))
    return TextBatch(*(torch.cat(p).to(device) for p in zip(*parts, strict=True)))


class WindowIds(IterableDataset):
    """Endless seeded batches {"bucket": int, "ids": (B,) long}: a bucket drawn in proportion to
    its windows, then `batch_size` of its windows uniformly. The stream depends on the seed, the
    rank and the step it starts from (`start_step()`, read when iteration starts), so a resumed run
    draws fresh batches and data-parallel ranks draw different ones."""

    def __init__(
        self,
        sizes: list[int],
        batch_size: int,
        seed: int,
        rank: int = 0,
        start_step: Callable[[], int] = lambda: 0,
    ):
        self.sizes, self.batch_size = np.array(sizes), batch_size
        self.seed, self.rank, self.start_step = seed, rank, start_step

    def __iter__(self) -> Iterator[dict[str, object]]:
        rng = np.random.default_rng([self.seed, self.rank, self.start_step()])
        share = self.sizes / self.sizes.sum()
        while True:
            bucket = int(rng.choice(len(self.sizes), p=share))
            ids = rng.integers(0, self.sizes[bucket], self.batch_size)
            yield {"bucket": bucket, "ids": torch.from_numpy(ids)}
