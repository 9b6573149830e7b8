"""What the episode store and the latent cache share: a directory of episode folders, each written
as a temp dir and renamed into place (atomic on POSIX), listed in manifest.json under a file lock
so that several shards can fill one directory and a killed job resumes.

Every job output records the config that made it in `<dir>/stages/<job>.json` (`write_record`),
the record `worldsim pipeline` keeps per stage: a later run into the same directory with another
config is refused, and a reader knows how many episodes the making job was asked for, so a
partial directory is named at the start of any job that reads it (`ManifestDir.check`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from worldsim.data.episode import EpisodeError

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"  # `.tmp-<name>-<pid>`: an episode (or manifest) being written
RECORDS = "stages"  # <dir>/stages/<job>.json: {"job", "config", ...} of the run that made <dir>
# directories a job with strict=false accepted incomplete: warned about once per process
_ACCEPTED_INCOMPLETE: set[Path] = set()
# What tells the kinds of manifest directory apart, as (files of the directory, the job whose
# record it keeps, a file of each of its episode folders): both kinds share manifest.json and
# ep_* folders, and a directory is named by its kind before a job reads one as the other
# (store.py, latent_cache.py: the layouts).
KINDS = {
    "latent cache": (("autoencoder.json", "stats.json"), "encode", "latents.npy"),
    "episode store": ((), "record", "frames.npy"),
}


def record_path(directory: str | Path, job: str) -> Path:
    """Where the config that made `directory` (a job's output) is recorded."""
    return Path(directory) / RECORDS / f"{job}.json"


def kind_of(root: str | Path) -> str | None:
    """Which kind of manifest directory `root` is, by its files (None: neither, or no folder)."""
    root = Path(root)
    # one episode folder tells as well as all of them, and a store may hold 100k
    episode = next((p for p in root.glob("ep_*") if p.is_dir()), None)
    listed = (root / MANIFEST).is_file()
    for what, (files, job, per_episode) in KINDS.items():
        if any((root / name).is_file() for name in files):
            return what
        # the job's record only beside a manifest: a pipeline's root (the quickstart's) keeps
        # its stages' records, stages/encode.json among them, under the same names
        if listed and record_path(root, job).is_file():
            return what
        if episode is not None and (episode / per_episode).is_file():
            return what
    return None


def article(what: str) -> str:
    """`what` after its indefinite article: "an episode store", "a latent cache"."""
    return f"{'an' if what[0] in 'aeiou' else 'a'} {what}"


def read_record(path: Path) -> dict[str, Any]:
    """A run record ({"job", "config", ...}), {} when there is none or it is unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def manifest_sha256(roots: list[str]) -> list[str]:
    """sha256 of each directory's manifest: which episodes (and checksums) a job read."""
    return [file_sha256(Path(root) / MANIFEST) for root in roots]


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """A path beside `path` to write the file into, renamed over `path` once written whole: a
    run killed (or failing) mid-write keeps the previous file, never a cut-short one."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:  # after a failed write: no half-written file left beside it
        tmp.unlink(missing_ok=True)


def write_record(path: Path, job: str, config: dict[str, Any], **extra: Any) -> None:
    """Record (atomically) that job `job` with resolved `config` made the output `path` names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps({"job": job, "config": config, **extra}, indent=2))


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
    what: str  # "episode store" | "latent cache", for messages
    made_by: str  # the job that fills such a directory (its record: <root>/stages/<job>.json)
    files: tuple[str, ...] = (MANIFEST,)  # files of the directory beside its episode folders

    def open_problem(self, name: str) -> str | None:
        """Why listed episode `name` cannot be opened as the manifest says (None: it can); reads
        only array headers, so a whole directory is checked in seconds."""
        raise NotImplementedError

    def directory_problems(self) -> list[str]:
        """What is wrong with the directory's own files (not one episode's): no reader can skip
        it, so it is refused even with strict=false."""
        return []

    def problems(self) -> tuple[list[str], list[str]]:
        """(what is wrong, the listed episodes that cannot be opened): unreadable episodes,
        episodes the making job was asked for but has not finished, a killed job's leftovers."""
        bad = {name: why for name in self.names() if (why := self.open_problem(name))}
        found = []
        if bad:
            names = ", ".join(list(bad)[:5]) + (", ..." if len(bad) > 5 else "")
            first = next(iter(bad.values()))
            found.append(
                f"{len(bad)} of {len(self)} listed episodes cannot be read ({names}; {first})"
            )
        expected = read_record(record_path(self.root, self.made_by)).get("episodes")
        if expected and len(self) < expected:
            found.append(f"only {len(self)} of the {expected} episodes it was made for are done")
        left = [p.name for p in self.root.iterdir() if self._unfinished(p)]
        if left:
            found.append(f"{len(left)} unfinished episode folders ({left[0]})")
        return found, list(bad)

    def _unfinished(self, path: Path) -> bool:
        """An episode folder being written (or left by a killed job): a temp dir, or unlisted."""
        if path.name.startswith(TMP_PREFIX):
            return path.is_dir()
        return path.is_dir() and path.name.startswith("ep_") and path.name not in self._entries

    def check(self, strict: bool = True) -> None:
        """Name an incomplete or corrupt directory before a job reads it: refused when `strict`,
        else one loud warning (once per process), and this reader no longer lists the episodes
        that cannot be opened. A directory a job accepted with strict=false passes later checks
        (its data module's) with the same effect, silently."""
        whole = self.directory_problems()
        if whole:
            raise EpisodeError(
                f"{self.what} {self.root} is corrupt: {'; '.join(whole)}; make it again with "
                f"`worldsim {self.made_by}` into a new out= (strict=false cannot skip this)"
            )
        found, bad = self.problems()
        root = self.root.resolve()
        if found and root not in _ACCEPTED_INCOMPLETE:
            record = record_path(self.root, self.made_by)
            job = f"`worldsim {self.made_by}` (its config: {record})" if record.is_file() else "job"
            fix = f"finish it by rerunning the {job} that made it, or check it with "
            fix += f"`worldsim data verify {self.root}`"
            message = f"{self.what} {self.root} is incomplete or corrupt: {'; '.join(found)}; {fix}"
            readable = len(self) - len(bad)
            if strict:
                raise EpisodeError(
                    f"{message}; or pass strict=false to use its {readable} readable episodes"
                )
            print(
                f"\nworldsim: WARNING (strict=false): {message}. Going on with its {readable} "
                "readable episodes.\n",
                file=sys.stderr,
                flush=True,
            )
            _ACCEPTED_INCOMPLETE.add(root)
        for name in bad:
            del self._entries[name]

    def clear(self) -> None:
        """Delete every episode and the directory's own files (overwrite=true of a job whose
        output another config made); other files in it are left alone."""
        with self._locked():
            for path in self.root.iterdir():
                if path.name.startswith(("ep_", TMP_PREFIX)) and path.is_dir():
                    shutil.rmtree(path)
                elif path.name in self.files or path.name.startswith(TMP_PREFIX):
                    path.unlink()
            self._entries = {}

    def _open(self, root: str | Path, create: bool, what: str, how: str) -> None:
        """Open (with `create`: make) the directory; without a manifest, say `how` to make one."""
        self.root = Path(root)
        self._refuse_other_kind(create)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not (self.root / MANIFEST).is_file():
            raise FileNotFoundError(
                f"no {what} at {self.root} (missing {MANIFEST}); create one with {how}"
            )
        self._entries = self._read_manifest()

    def _refuse_other_kind(self, create: bool) -> None:
        """Name a directory of the other kind before it is read or written as this one: its
        manifest rows would fail on a field name, with a fix (rebuild the manifest) that would
        damage it, and episodes of both kinds would mix in it."""
        found = kind_of(self.root)
        if found is None or found == self.what:
            return
        fix = f"give a new folder for the {self.what}" if create else self.instead_of_other()
        raise EpisodeError(f"{self.root} is {article(found)}, not {article(self.what)}; {fix}")

    def instead_of_other(self) -> str:
        """What to give instead of the other kind of directory (at `self.root`)."""
        raise NotImplementedError

    def _read_manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.is_file():
            return {}
        try:
            doc = json.loads(path.read_text())
            return {e["name"]: self.entry_type(**e) for e in doc["episodes"]}
        except (json.JSONDecodeError, KeyError, TypeError) as err:  # cut short or not ours
            raise EpisodeError(
                f"{path} is not a valid manifest ({err!r}); remake the {self.what} with "
                f"`worldsim {self.made_by}`"
            ) from err

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
                    # the directory's own files are written under this lock, so their
                    # temp files here were left by a killed writer
                    stale = owner in names or owner in self.files
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

    def check(self, strict: bool = True) -> None:
        """`ManifestDir.check` of every part."""
        for part in self.parts:
            part.check(strict)
