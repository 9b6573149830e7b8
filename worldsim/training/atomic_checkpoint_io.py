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

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from worldsim.data.manifest import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None:  # as Lightning's own: no remote-storage options here
            raise TypeError(f"storage_options are not supported by {type(self).__name__}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:  # a failed write leaves the previous checkpoint whole
            torch.save(checkpoint, tmp)
