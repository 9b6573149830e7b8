"""Latent cache: an episode store encoded once by the video VAE, read by the DiT.

    root/
      manifest.json     finished episodes: name, frames T, latent_frames, shape, checksum, moments
      stats.json        {"mean": [c], "std": [c]} per latent channel over every cached latent
      autoencoder.json  checkpoint path, time/space factor, latent channels of the encoder used
      text.npz          TextTable: embeddings of every caption sentence of the cached episodes
                        (its sha256 is in the manifest; training reads text from here only)
      ep_000007/        latents.npy float16 (T', c, h, w) posterior means (un-normalised),
                        actions.npy float32 (T, A), episode.json (captions, meta, env_id, fps)
      .tmp-ep_000009-<pid>/   an episode being written (never listed; removed on resume)

`frames` is the number of source frames encoded (1 + time_factor * (T' - 1)); the source
episode's trailing frames beyond that are dropped, and `actions` holds the encoded frames' actions.
Episodes are written like the episode store's (temp dir + rename) and listed in the manifest
under a lock, so several encode shards can fill one cache and a killed job resumes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from worldsim.data.manifest import (
    MANIFEST,
    TMP_PREFIX,
    ManifestDir,
    checksum,
    file_sha256,
    fsync_dir,
    json_default,
    move_into_place,
    save_arrays,
    temp_dir,
)
from worldsim.models.text import TextTable

STATS = "stats.json"
TEXT_TABLE = "text.npz"
AUTOENCODER = "autoencoder.json"
EPISODE_JSON = "episode.json"


@dataclass(frozen=True)
class LatentEntry:
    """What the manifest records of one cached episode."""

    name: str
    frames: int  # source frames encoded
    latent_frames: int
    shape: list[int]  # (T', c, h, w) of latents.npy
    checksum: str  # sha256 over the episode directory's files
    moments: dict[str, Any] = field(
        default_factory=dict
    )  # per-channel sum, sumsq (float64) and count


@dataclass
class LatentEpisode:
    """One cached episode."""

    name: str
    latents: np.ndarray  # (T', c, h, w) float16, posterior means, un-normalised
    actions: np.ndarray  # (T, A) float32, actions[t] = action just before source frame t
    captions: dict[str, Any]
    meta: dict[str, Any]


def channel_moments(latents: np.ndarray) -> dict[str, Any]:
    """Per-channel sum and sum of squares of (T', c, h, w) latents, for pooled mean/std."""
    z = np.asarray(latents, np.float64)
    return {
        "sum": z.sum(axis=(0, 2, 3)).tolist(),
        "sumsq": np.square(z).sum(axis=(0, 2, 3)).tolist(),
        "count": int(z.shape[0] * z.shape[2] * z.shape[3]),
    }


def pooled_stats(moments: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Mean and std per channel over every element summarised by `moments`."""
    total = np.sum([m["sum"] for m in moments], axis=0)
    total_sq = np.sum([m["sumsq"] for m in moments], axis=0)
    count = sum(m["count"] for m in moments)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    return {"mean": mean.tolist(), "std": std.tolist()}


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True, default=json_default)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_latent_episode(
    root: str | Path,
    name: str,
    latents: np.ndarray,
    actions: np.ndarray,
    doc: dict[str, Any],
    time_factor: int,
) -> LatentEntry:
    """Write one episode's latents atomically (temp dir + rename); the caller adds the entry."""
    root = Path(root)
    latents = np.ascontiguousarray(latents, np.float16)  # (T', c, h, w)
    frames = 1 + time_factor * (latents.shape[0] - 1)
    if latents.ndim != 4 or len(actions) != frames:
        raise ValueError(
            f"latent episode {name}: latents {latents.shape} need (T', c, h, w) and actions "
            f"{np.shape(actions)} one row per encoded frame ({frames})"
        )
    tmp = temp_dir(root, name)
    save_arrays(tmp, {"latents.npy": latents, "actions.npy": np.asarray(actions, np.float32)})
    _write_json(tmp / EPISODE_JSON, doc)
    entry = LatentEntry(
        name=name,
        frames=frames,
        latent_frames=int(latents.shape[0]),
        shape=list(latents.shape),
        checksum=checksum(tmp),
        moments=channel_moments(latents),
    )
    move_into_place(tmp, root, name)
    return entry


class LatentCache(ManifestDir):
    """A directory of latent episodes with manifest, channel stats and the encoder's description."""

    entry_type = LatentEntry
    what, made_by = "latent cache", "encode"
    files = (MANIFEST, STATS, AUTOENCODER, TEXT_TABLE)

    def __init__(self, root: str | Path, create: bool = False):
        how = "`worldsim encode store=DIR out=DIR checkpoint=VAE.ckpt`"
        self._open(root, create, "latent cache", how)

    def add(self, entries: list[LatentEntry], text: TextTable | None = None) -> None:
        """List finished episodes in the manifest and refresh stats.json over all of them.

        `text`: embeddings of the episodes' caption sentences, merged into text.npz (whose
        sha256 the manifest records) before the episodes are listed."""
        with self._locked():
            self._entries = self._read_manifest()
            self._entries.update({e.name: e for e in entries})
            doc = {"episodes": [asdict(self._entries[k]) for k in sorted(self._entries)]}
            listed = self._text_record()
            doc["text"] = listed if text is None else self._merge_text(text, listed)
            _write_json(self.root / MANIFEST, doc)
            _write_json(
                self.root / STATS, pooled_stats([e.moments for e in self._entries.values()])
            )
            fsync_dir(self.root)

    def _text_record(self) -> dict[str, Any] | None:
        """The manifest's record of text.npz (file, sentences, sha256), None without text."""
        path = self.root / MANIFEST
        return json.loads(path.read_text()).get("text") if path.is_file() else None

    def _merge_text(self, text: TextTable, listed: dict[str, Any] | None) -> dict[str, Any]:
        """Add `text`'s new sentences to text.npz (caller holds the lock); its manifest record.
        The file is rewritten only when a sentence is new (encode hands the whole table over
        after every episode)."""
        table = self.text_table() or TextTable(text.key, text.dim)
        if table.key != text.key:
            raise ValueError(
                f"latent cache {self.root} holds text of encoder {table.key!r}, not {text.key!r}; "
                "use a new out= directory for a different text encoder"
            )
        new = {s: row for s, row in text.rows.items() if s not in table}
        if listed is not None and not new:
            return listed
        for sentence, (tokens, pooled) in new.items():
            table.add(sentence, tokens, pooled)
        path = self.root / TEXT_TABLE
        table.save(path)
        return {"file": TEXT_TABLE, "sentences": len(table), "sha256": file_sha256(path)}

    def text_table(self) -> TextTable | None:
        """Embeddings of every caption sentence in the cache, or None for a cache without text."""
        path = self.root / TEXT_TABLE
        return TextTable.load(path) if path.is_file() else None

    def verify_text(self) -> str | None:
        """None if text.npz matches the manifest's sha256 (or there is no text), else why not."""
        record = self._text_record()
        if not record:
            return None
        path = self.root / record["file"]
        if not path.is_file():
            return f"{path} is missing"
        return None if file_sha256(path) == record["sha256"] else f"{path}: checksum mismatch"

    def set_autoencoder_info(self, info: dict[str, Any]) -> None:
        """Record the encoder; refuses to mix latents of two different encoders in one cache."""
        path = self.root / AUTOENCODER
        if path.is_file():
            old = json.loads(path.read_text())
            if old != info:
                raise ValueError(
                    f"latent cache {self.root} was encoded with {old}, not {info}; "
                    "use a new out= directory for a different autoencoder"
                )
            return
        _write_json(path, info)

    # ---------------------------------------------------------------- reading

    def load(self, name: str, mmap: bool = True) -> LatentEpisode:
        """One cached episode; with `mmap` the arrays are memory maps read on access."""
        directory = self.root / self.entry(name).name
        mode = "r" if mmap else None
        doc = json.loads((directory / EPISODE_JSON).read_text())
        return LatentEpisode(
            name=name,
            latents=np.load(directory / "latents.npy", mmap_mode=mode),
            actions=np.load(directory / "actions.npy", mmap_mode=mode),
            captions=doc.get("captions", {}),
            meta=doc.get("meta", {}),
        )

    def open_problem(self, name: str) -> str | None:
        try:
            shape = list(self.load(name).latents.shape)  # a memory map: reads the header only
        except (OSError, ValueError) as err:
            return f"{name}: {err}"
        listed = self.entry(name).shape
        return f"{name}: latents {shape}, the manifest says {listed}" if shape != listed else None

    def verify(self, name: str) -> str | None:
        """None if episode `name` matches its manifest checksum, else why not."""
        directory = self.root / name
        if not directory.is_dir():
            return f"{name}: directory {directory} is missing"
        return (
            None
            if checksum(directory) == self.entry(name).checksum
            else f"{name}: checksum mismatch"
        )

    def stats(self) -> dict[str, list[float]]:
        """{"mean": [c], "std": [c]} per latent channel; DiT inputs are (z - mean) / std."""
        return json.loads((self.root / STATS).read_text())

    def autoencoder_info(self) -> dict[str, Any]:
        """checkpoint, time_factor, space_factor, latent_channels of the cache's encoder."""
        return json.loads((self.root / AUTOENCODER).read_text())
