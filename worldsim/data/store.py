"""Episode store on disk: one directory of .npy files per episode, plus a manifest.

Why this format: each array is a plain `.npy` file, so a clip of 16 frames out of a
10,000-frame episode is read through a memory map without touching the rest (datasets
larger than RAM stream from disk); an episode is finished exactly when its directory is
renamed into place (atomic on POSIX), and it needs nothing beyond NumPy to read.

    root/
      manifest.json            finished episodes: checksum, length, resolution, env id, schema
      ep_000007/               one finished episode
        frames.npy actions.npy rewards.npy terminated.npy truth.<key>.npy episode.json
      .tmp-ep_000009-<pid>/    an episode being written (never listed; removed on resume)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from worldsim.data import manifest
from worldsim.data.episode import SCHEMA_VERSION, Episode, EpisodeError
from worldsim.data.manifest import MANIFEST, TMP_PREFIX, JoinedDirs, ManifestDir

EPISODE_JSON = "episode.json"
ARRAY_FIELDS = ("frames", "actions", "rewards", "terminated")


@dataclass(frozen=True)
class ManifestEntry:
    """What the manifest records of one finished episode."""

    name: str
    checksum: str  # sha256 over the episode's files, in name order
    length: int
    height: int
    width: int
    env_id: str
    seed: int
    schema_version: int = SCHEMA_VERSION


def episode_name(index: int) -> str:
    """Directory name of episode `index` (seed = base seed + index)."""
    return f"ep_{index:06d}"


def _manifest_entry(name: str, directory: Path, episode: Episode) -> ManifestEntry:
    """The manifest row of an episode written to `directory`."""
    return ManifestEntry(
        name=name,
        checksum=manifest.checksum(directory),
        length=episode.length,
        height=episode.resolution[0],
        width=episode.resolution[1],
        env_id=str(episode.meta.get("env_id", "")),
        seed=int(episode.meta.get("seed", -1)),
    )


def write_episode(root: str | Path, name: str, episode: Episode) -> ManifestEntry:
    """Write `episode` as `root/name` atomically (temp dir + rename) and return its entry.

    Does not touch the manifest, so worker processes can call it; the caller adds the
    returned entry with `EpisodeStore.add`.
    """
    root = Path(root)
    episode.validate(name)
    tmp = manifest.temp_dir(root, name)
    arrays = {f"{key}.npy": getattr(episode, key) for key in ARRAY_FIELDS}
    arrays.update({f"truth.{key}.npy": value for key, value in episode.truth.items()})
    manifest.save_arrays(tmp, {f: np.ascontiguousarray(a) for f, a in arrays.items()})
    doc = {
        "raw_actions": episode.raw_actions,
        "objects": episode.objects,
        "events": episode.events,
        "captions": episode.captions,
        "meta": episode.meta,
    }
    with open(tmp / EPISODE_JSON, "w") as fh:
        json.dump(doc, fh, default=manifest.json_default, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    entry = _manifest_entry(name, tmp, episode)
    manifest.move_into_place(tmp, root, name)
    return entry


class EpisodeStore(ManifestDir):
    """A directory of episodes with a manifest; reads are lazy (memory-mapped) per episode."""

    entry_type = ManifestEntry
    what, made_by = "episode store", "record"

    def __init__(self, root: str | Path, create: bool = False, repair: bool = False):
        self._repair = repair  # treat an unreadable manifest as empty (before rebuild_manifest)
        self._open(root, create or repair, "episode store", "`worldsim record out=DIR ...`")

    def instead_of_other(self) -> str:
        record = manifest.record_path(self.root, "encode")
        source = manifest.read_record(record).get("config", {}).get("store")
        named = f" (store={source}, recorded in {record})" if source else ""
        return f"give the episode store it was encoded from{named}"

    # ---------------------------------------------------------------- manifest

    def _read_manifest(self) -> dict[str, ManifestEntry]:
        path = self.root / MANIFEST
        try:
            return super()._read_manifest()
        except EpisodeError as err:
            if self._repair:
                return {}
            raise EpisodeError(
                f"{path} is not a valid manifest ({err.__cause__!r}); rebuild it with "
                f"`worldsim data verify {self.root} rebuild=true`"
            ) from err

    def _write_manifest(self) -> None:
        doc = {
            "schema_version": SCHEMA_VERSION,
            "episodes": [asdict(self._entries[k]) for k in sorted(self._entries)],
        }
        tmp = self.root / f"{TMP_PREFIX}{MANIFEST}-{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / MANIFEST)
        manifest.fsync_dir(self.root)

    def add(self, entries: list[ManifestEntry]) -> None:
        """Record finished episodes in the manifest (merging with other writers' entries)."""
        with self._locked():
            self._entries = self._read_manifest()
            self._entries.update({e.name: e for e in entries})
            self._write_manifest()

    def rebuild_manifest(self) -> list[str]:
        """Re-derive the manifest from the episode directories; returns the episodes that fail."""
        bad, entries = [], {}
        for path in sorted(self.root.glob("ep_*")):
            try:
                ep = self.load(path.name, mmap=False)
                entries[path.name] = _manifest_entry(path.name, path, ep)
            except (OSError, ValueError, KeyError) as err:
                bad.append(f"{path.name}: {err}")
        with self._locked():
            self._entries = entries
            self._write_manifest()
        return bad

    # ---------------------------------------------------------------- reading

    def load(self, name: str, mmap: bool = True) -> Episode:
        """Open one episode; with `mmap` its arrays are memory maps read on access."""
        directory = self.root / name
        mode = "r" if mmap else None
        try:
            arrays = {
                key: np.load(directory / f"{key}.npy", mmap_mode=mode, allow_pickle=False)
                for key in ARRAY_FIELDS
            }
            truth = {
                p.name[len("truth.") : -len(".npy")]: np.load(p, mmap_mode=mode, allow_pickle=False)
                for p in sorted(directory.glob("truth.*.npy"))
            }
            doc = json.loads((directory / EPISODE_JSON).read_text())
        except (OSError, ValueError, json.JSONDecodeError) as err:
            raise EpisodeError(
                f"episode {directory} cannot be read ({err}); "
                f"run `worldsim data verify {self.root}`"
            ) from err
        return Episode(
            truth=truth,
            raw_actions=doc["raw_actions"],
            objects=doc["objects"],
            events=doc["events"],
            captions=doc["captions"],
            meta=doc["meta"],
            **arrays,
        )

    def open_problem(self, name: str) -> str | None:
        try:
            episode = self.load(name)  # memory maps: reads the array headers only
            episode.validate(name)  # shapes and dtypes (headers), finite actions (small)
        except EpisodeError as err:
            return str(err)
        length = episode.length
        listed = self.entry(name).length
        return f"{name}: {length} frames, the manifest says {listed}" if length != listed else None

    def verify(self, name: str) -> str | None:
        """None if episode `name` matches its manifest checksum and the schema, else why not."""
        directory = self.root / name
        if not directory.is_dir():
            return f"{name}: directory {directory} is missing"
        try:
            if manifest.checksum(directory) != self.entry(name).checksum:
                return f"{name}: checksum mismatch (files changed or truncated)"
            ep = self.load(name, mmap=False)
            ep.validate(name)
            entry = self.entry(name)
            if (ep.length, *ep.resolution) != (entry.length, entry.height, entry.width):
                return f"{name}: length/resolution differ from the manifest"
        except (OSError, ValueError, KeyError) as err:
            return f"{name}: {err}"
        return None

    def verify_all(self) -> list[str]:
        """Problems of every episode in the manifest (empty when all are good)."""
        return [problem for name in self.names() if (problem := self.verify(name))]


class EpisodeStores(JoinedDirs):
    """Several episode stores read as one: episodes are named `k/name` for the k-th store."""

    def __init__(self, roots: list[str]):
        super().__init__([EpisodeStore(r) for r in roots])


def open_stores(cfg) -> EpisodeStore | EpisodeStores:
    """The store(s) a DataConfig `cfg` names (`roots`, else `root`), with the episode names the
    train/val split hashes; torch-free, so a job can check its data before torch loads."""
    return EpisodeStores(cfg.roots) if cfg.roots else EpisodeStore(cfg.root)
