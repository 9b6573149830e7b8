"""Reading a checkpoint file: whatever is wrong with it (text, truncated, another kind of file)
becomes one line naming the file and what to pass instead."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import torch

from worldsim.config import ConfigError
from worldsim.data.manifest import atomic_write


class CheckpointError(ConfigError):
    """A file given as a checkpoint that is not one of the expected kind; the message is one
    line."""


def read_checkpoint(
    source: str | Path | IO[bytes],
    path: str | Path,
    what: str,
    how: str,
    keys: tuple[str, ...],
    weights_only: bool = False,
) -> dict[str, Any]:
    """torch.load `source` (the file `path`, or its joined parts) as a dict holding one of `keys`;
    otherwise a CheckpointError naming `path`, the `what` expected and `how` to make one.
    `weights_only`: unpickle tensors and plain containers alone (files of tensors and dicts)."""
    try:
        ckpt = torch.load(source, map_location="cpu", weights_only=weights_only)
    except (
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        EOFError,
        RuntimeError,
        ValueError,
        AttributeError,
        ModuleNotFoundError,
    ) as err:
        # the error's first sentence: torch's zip errors go on with advice about its internals
        reason = str(err).splitlines()[0].split(". ")[0] if str(err) else type(err).__name__
        reason = reason if len(reason) <= 120 else reason[:119] + "…"
        raise CheckpointError(
            f"{path} is not a {what} checkpoint (unreadable: {reason}); {how}"
        ) from err
    if not isinstance(ckpt, dict) or not any(k in ckpt for k in keys):
        found = sorted(ckpt)[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} is not a {what} checkpoint (holds {found}); {how}")
    return ckpt


def write_checkpoint(obj: dict[str, Any], path: str | Path) -> None:
    """torch.save `obj` to `path` whole or not at all (`atomic_write`), through a file object:
    torch names its archive after a path's stem, and the temporary name of a path without a
    suffix (`.tmp-NAME-PID`) has none."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)
