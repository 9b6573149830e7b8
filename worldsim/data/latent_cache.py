"""Latent cache: an episode store encoded once by the video VAE, read by the DiT.

    root/
      manifest.json     finished episodes: name, frames T, latent_frames, shape, checksum, moments
      stats.json        {"mean": [c], "std": [c]} per latent channel over every cached latent
      autoencoder.json  checkpoint path, time/space factor, latent channels of the encoder used
      text.npz          TextTable: embeddings of every caption sentence of the cached episodes
                        (its sha256 is in the manifest; training reads text from here only)
      ep_000007/        latents.npy float16 (T', c, h, w) posterior means (un-normalised),
                        actions.npy float32 (T, A), episode.json (captions, meta, env_id, fps),
                        objects.npy float16 (T', h, w) share of object pixels per latent cell
                        (`object_shares`; only for a store episode with truth `instance`)
      .tmp-ep_000009-<pid>/   an episode being written (never listed; removed on resume)

`frames` is the number of source frames encoded (1 + time_factor * (T' - 1)); the source
episode's trailing frames beyond that are dropped, and `actions` holds the encoded frames' actions.
Episodes are written like the episode store's (temp dir + rename) and listed in the manifest
under a lock, so several encode shards can fill one cache and a killed job resumes.

Nothing non-finite is written (an encoder that gives NaN/inf stops `encode` naming the episode),
and every job that reads a cache checks it first (`ManifestDir.check`): each episode's arrays for
their dtype and NaN/inf (scanned once per process while the file is unchanged), stats.json and
text.npz for NaN/inf; `worldsim data verify` adds the checksums.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from einops import reduce

from worldsim.data.episode import EpisodeError
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
OBJECTS = "objects.npy"  # optional: caches encoded before it, or without instance truth, lack it
DTYPES = {"latents.npy": np.float16, "actions.npy": np.float32, OBJECTS: np.float16}  # the arrays
ENCODE = "`worldsim encode store={store} out=DIR checkpoint=VAE.ckpt`"  # makes a latent cache
RE_ENCODE = "re-encode into a new out= with `worldsim encode`"
# (path, size, mtime) of an array already scanned for NaN/inf -> what is wrong with it
_SCANNED: dict[tuple[str, int, int], str | None] = {}


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
    objects: np.ndarray | None = None  # (T', h, w) float16 object share per cell; None: not encoded


def count_non_finite(array: np.ndarray) -> int:
    """NaN and inf values in a float array (a memory map is read once, in order)."""
    if array.dtype == np.float16:  # exponent bits all set: inf or NaN (integer work, no f16 math)
        return int(np.count_nonzero((array.view(np.uint16) & 0x7C00) == 0x7C00))
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def array_problem(path: Path) -> str | None:
    """Why the episode array at `path` is not a finite array of its DTYPES dtype (None: it is);
    read whole once per process while the file is unchanged."""
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _SCANNED:
            _SCANNED[key] = _scan(path)
        return _SCANNED[key]
    except (OSError, ValueError) as err:  # missing, cut short, not an array
        return f"{path} cannot be read ({str(err).splitlines()[0]})"


def _scan(path: Path) -> str | None:
    array, dtype = np.load(path, mmap_mode="r"), np.dtype(DTYPES[path.name])
    if array.dtype != dtype:
        return f"{path} holds {array.dtype}, not {dtype}"
    bad = count_non_finite(array)
    return f"{path} holds {bad} NaN/inf values" if bad else None


def object_shares(instance: np.ndarray, time_factor: int, space_factor: int) -> np.ndarray:
    """The share (0..1) of object pixels (id >= 0; -1 is background) in the source block of each
    latent cell: instance maps (T, H, W), T = 1 + tf k -> (1 + k, H / sf, W / sf) float32. The
    causal VAE's latent frame 0 encodes source frame 0 alone and latent frame j >= 1 source frames
    tf (j - 1) + 1 .. tf j (its time downsampling pairs the first frame with itself)."""
    frames, height, width = instance.shape
    if (frames - 1) % time_factor or height % space_factor or width % space_factor:
        raise ValueError(
            f"instance maps {instance.shape} need 1 + {time_factor} k frames and a size divisible "
            f"by {space_factor}"
        )
    objects = np.asarray(instance) >= 0  # (T, H, W) bool
    shares = [
        reduce(part, "(t a) (h b) (w c) -> t h w", "sum", a=a, b=space_factor, c=space_factor)
        / (a * space_factor**2)
        for part, a in ((objects[:1], 1), (objects[1:], time_factor))
    ]  # (1, h, w) of frame 0 alone, (k, h, w) of tf frames each
    return np.concatenate(shares).astype(np.float32)  # (1 + k, h, w)


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
    objects: np.ndarray | None = None,
) -> LatentEntry:
    """Write one episode's latents atomically (temp dir + rename); the caller adds the entry.
    `objects`: the (T', h, w) `object_shares` of its latent cells (None: no objects.npy)."""
    root = Path(root)
    with np.errstate(over="ignore"):  # a value beyond float16's range is named below
        latents = np.ascontiguousarray(latents, np.float16)  # (T', c, h, w)
    frames = 1 + time_factor * (latents.shape[0] - 1)
    if latents.ndim != 4 or len(actions) != frames:
        raise ValueError(
            f"latent episode {name}: latents {latents.shape} need (T', c, h, w) and actions "
            f"{np.shape(actions)} one row per encoded frame ({frames})"
        )
    bad = count_non_finite(latents)
    if bad:
        raise EpisodeError(
            f"latent episode {name}: the autoencoder gave {bad} NaN/inf latent values (float16 "
            f"holds at most 65504); nothing written to {root}. Encode with a checkpoint whose "
            "latents are finite (is its training diverged?)"
        )
    arrays = {"latents.npy": latents, "actions.npy": np.asarray(actions, np.float32)}
    if objects is not None:
        arrays[OBJECTS] = _checked_objects(name, objects, latents.shape)
    tmp = temp_dir(root, name)
    save_arrays(tmp, arrays)
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


def _objects_problem(path: Path, shape: list[int]) -> list[str]:
    """[why] when objects.npy at `path` is not (T', h, w) of latents `shape` (T', c, h, w)."""
    t, _, h, w = shape
    found = list(np.load(path, mmap_mode="r").shape)
    return [] if found == [t, h, w] else [f"{path} is {found}, its latents need {[t, h, w]}"]


def _checked_objects(name: str, objects: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`objects` as objects.npy stores them (float16), refused unless (T', h, w) of latents
    `shape` (T', c, h, w) with shares in [0, 1]."""
    objects = np.ascontiguousarray(objects, np.float16)  # (T', h, w)
    t, _, h, w = shape
    if objects.shape != (t, h, w) or not ((objects >= 0) & (objects <= 1)).all():
        raise ValueError(
            f"latent episode {name}: objects {objects.shape} need (T', h, w) = {(t, h, w)} of "
            "shares in [0, 1]"
        )
    return objects


class LatentCache(ManifestDir):
    """A directory of latent episodes with manifest, channel stats and the encoder's description."""

    entry_type = LatentEntry
    what, made_by = "latent cache", "encode"
    files = (MANIFEST, STATS, AUTOENCODER, TEXT_TABLE)

    def __init__(self, root: str | Path, create: bool = False):
        self._open(root, create, "latent cache", ENCODE.format(store="DIR"))

    def instead_of_other(self) -> str:
        return f"encode it into one first ({ENCODE.format(store=self.root)}) and give that"

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
        bad = [s for s, row in new.items() if sum(map(count_non_finite, row))]
        if bad:
            raise EpisodeError(
                f"the text encoder gave NaN/inf embeddings for {len(bad)} sentences ({bad[0]!r}); "
                f"nothing written to {self.root}. Check the encoder given as text.name"
            )
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
        """None if text.npz matches the manifest's sha256 and holds finite embeddings (or there
        is no text), else why not."""
        record = self._text_record()
        if not record:
            return None
        path = self.root / record["file"]
        if not path.is_file():
            return f"{path} is missing"
        if file_sha256(path) != record["sha256"]:
            return f"{path}: checksum mismatch"
        with np.load(path) as table:
            bad = count_non_finite(table["tokens"]) + count_non_finite(table["pooled"])
        return f"{path} holds {bad} NaN/inf embedding values" if bad else None

    def stats_problem(self) -> str | None:
        """None if stats.json holds a finite mean and a positive std per latent channel."""
        path = self.root / STATS
        try:
            stats = json.loads(path.read_text())
            mean, std = (np.asarray(stats[k], np.float64) for k in ("mean", "std"))
        except (OSError, ValueError, KeyError, TypeError) as err:
            return f"{path} is missing or unreadable ({type(err).__name__})"
        channels = self.entry(self.names()[0]).shape[1] if len(self) else len(mean)
        if mean.shape != (channels,) or std.shape != (channels,):
            return f"{path} holds {mean.size} means and {std.size} stds for {channels} channels"
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            return f"{path} holds NaN/inf or a std of 0 (mean {mean.tolist()}, std {std.tolist()})"
        return None

    def directory_problems(self) -> list[str]:
        return [p for p in (self.stats_problem(), self.verify_text()) if p]

    def set_autoencoder_info(self, info: dict[str, Any]) -> None:
        """Record the encoder; refuses to mix latents of two different encoders in one cache."""
        path = self.root / AUTOENCODER
        with self._locked():
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
        objects = np.load(directory / OBJECTS, mmap_mode=mode) if self.has_objects(name) else None
        return LatentEpisode(
            name=name,
            latents=np.load(directory / "latents.npy", mmap_mode=mode),
            actions=np.load(directory / "actions.npy", mmap_mode=mode),
            captions=doc.get("captions", {}),
            meta=doc.get("meta", {}),
            objects=objects,
        )

    def has_objects(self, name: str) -> bool:
        """Whether `encode` wrote episode `name`'s objects.npy (its store had truth instance)."""
        return (self.root / self.entry(name).name / OBJECTS).is_file()

    def open_problem(self, name: str) -> str | None:
        """Why episode `name` cannot be read as listed: a file unreadable, of another shape or
        dtype, or NaN/inf in its arrays or its manifest moments (None: it can)."""
        entry, directory = self.entry(name), self.root / name
        files = [f for f in DTYPES if f != OBJECTS or self.has_objects(name)]
        unsound = [p for f in files if (p := array_problem(directory / f))]
        latents = directory / "latents.npy"
        if not unsound and (shape := list(np.load(latents, mmap_mode="r").shape)) != entry.shape:
            unsound.append(f"{latents} is {shape}, the manifest says {entry.shape}")
        if not unsound and OBJECTS in files:
            unsound += _objects_problem(directory / OBJECTS, entry.shape)
        sums = [*entry.moments.get("sum", []), *entry.moments.get("sumsq", [])]
        if not np.isfinite(np.asarray(sums, np.float64)).all():
            unsound.append(f"the manifest's latent sums of {name} are NaN/inf")
        try:
            json.loads((directory / EPISODE_JSON).read_text())
        except (OSError, ValueError) as err:
            unsound.append(f"{directory / EPISODE_JSON} cannot be read ({type(err).__name__})")
        return f"{name}: {'; '.join(unsound)}; {RE_ENCODE}" if unsound else None

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
