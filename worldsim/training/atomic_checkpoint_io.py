"""Lightning checkpoints written whole or not at all (`AtomicCheckpointIO`).

Lightning saves through fsspec, whose local transaction stages the file in the system's temporary
folder and moves it into place on commit: a copy, not a rename, when that folder lies on another
filesystem. A run killed during the copy left a cut-short last.ckpt, which the rerun's resume
could not read. Here the file is written beside its target and renamed over it (`os.replace`,
atomic within one folder), like every other file the jobs write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from worldsim.models.checkpoint import write_checkpoint


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None:  # as Lightning's own: no remote-storage options here
            raise TypeError(f"storage_options are not supported by {type(self).__name__}")
        write_checkpoint(checkpoint, path)  # a failed write leaves the previous one whole
