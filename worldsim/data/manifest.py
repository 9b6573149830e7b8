"""What the episode store and the latent cache share: a directory of episode folders, each written
as a temp dir and renamed into place (atomic on POSIX), listed in manifest.json under a file lock
so that several shards can fill one directory and a killed job resumes."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"  # `.tmp-<name>-<pid>`: an episode (or manifest) being written


def json_default(obj: Any) -> Any:
    """JSON for NumPy scalars and arrays (json.dump's `default`)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in episode.json")


def checksum(directory: Path) -> str:
    """sha256 over the names and bytes of a directory's files, in name order."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        digest.update(path.name.encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of one file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(directory: Path) -> None:
    """Make a rename inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_dir(root: Path, name: str) -> Path:
    """A fresh `.tmp-<name>-<pid>` directory under root to write episode `name` into."""
    tmp = root / f"{TMP_PREFIX}{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def save_arrays(directory: Path, arrays: dict[str, np.ndarray]) -> None:
    """Each array as `directory/<filename>` (.npy), flushed to disk."""
    for filename, array in arrays.items():
        with open(directory / filename, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())


def move_into_place(tmp: Path, root: Path, name: str) -> None:
    """Rename a finished temp dir to `root/name`; a dir left there by a killed job (same seed,
    same content, never listed) is replaced."""
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    fsync_dir(root)


class ManifestDir:
    """Base of a directory of episodes listed in `self._entries` (name -> `entry_type`)."""

    entry_type: type  # the frozen dataclass of one manifest row

    def _open(self, root: str | Path, create: bool, what: str, how: str) -> None:
        """Open (with `create`: make) the directory; without a manifest, say `how` to make one."""
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not (self.root / MANIFEST).is_file():
            raise FileNotFoundError(
                f"no {what} at {self.root} (missing {MANIFEST}); create one with {how}"
            )
        self._entries = self._read_manifest()

    def _read_manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.is_file():
            return {}
        doc = json.loads(path.read_text())
        return {e["name"]: self.entry_type(**e) for e in doc["episodes"]}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive lock so several shards can share one directory."""
        with open(self.root / ".manifest.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def names(self) -> list[str]:
        """Listed (finished) episodes, sorted."""
        return sorted(self._entries)

    def entry(self, name: str) -> Any:
        if name not in self._entries:
            raise KeyError(f"episode {name!r} is not in {self.root / MANIFEST}")
        return self._entries[name]

    def __len__(self) -> int:
        return len(self._entries)

    def remove_unfinished(self, names: set[str]) -> list[str]:
        """Delete leftovers of a killed job for episodes `names`: temp dirs and unlisted dirs.

        Limited to `names` so that shards writing other episodes into the same directory
        concurrently keep their work in progress.
        """
        removed = []
        with self._locked():
            self._entries = self._read_manifest()
            for path in self.root.iterdir():
                if path.name.startswith(TMP_PREFIX):
                    owner = path.name[len(TMP_PREFIX) :].rsplit("-", 1)[0]
                    # the lock excludes other manifest writers
                    stale = owner in names or owner == MANIFEST
                else:
                    stale = path.is_dir() and path.name in names and path.name not in self._entries
                if stale:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed.append(path.name)
        return removed


class JoinedDirs:
    """Several manifest directories read as one: episode `name` of the k-th one is `k/name`."""

    def __init__(self, parts: list[ManifestDir]):
        self.parts = parts

    def _split(self, name: str) -> tuple[Any, str]:
        k, episode = name.split("/", 1)
        return self.parts[int(k)], episode

    def names(self) -> list[str]:
        return [f"{k}/{n}" for k, part in enumerate(self.parts) for n in part.names()]

    def entry(self, name: str) -> Any:
        part, episode = self._split(name)
        return part.entry(episode)

    def load(self, name: str) -> Any:
        part, episode = self._split(name)
        return part.load(episode)
