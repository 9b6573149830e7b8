"""Host syncs of `worldsim train`: every CUDA call that made the host wait for the GPU during a
40-step run of `dit_b` (batch 32, eager) on random latents, with its stack and its count, by
torch's sync debug mode.

    python -m benchmarks.host_syncs [TRAIN_OVERRIDE ...] > host_syncs.txt

A stack counted once a step (40 times or more) is a sync inside the training step: the host
cannot queue step n + 1 while step n runs, so the Python of every step adds to the GPU's time
(benchmarks/README.md, the training loop). Stacks of setup, checkpointing and teardown are
counted too; they do not repeat. A pageable host-to-device copy waits without being reported.
"""

from __future__ import annotations

import collections
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import torch

from benchmarks.bench_train_loop import _config, synthetic_cache
from worldsim.jobs import train

STEPS = 40


def main() -> None:
    if not torch.cuda.is_available():
        print("host_syncs: needs a CUDA GPU (the debug mode watches CUDA syncs)", file=sys.stderr)
        sys.exit(2)
    seen: collections.Counter[str] = collections.Counter()

    def show(message, category, filename, lineno, file=None, line=None):
        if "synchroniz" in str(message):
            frames = [f for f in traceback.extract_stack()[:-1] if "warnings" not in f.filename]
            seen["".join(traceback.format_list(frames[-9:]))] += 1

    warnings.showwarning = show
    warnings.simplefilter("always")
    overrides = ["model=dit_b", "data.batch_size=32", *sys.argv[1:]]
    with tempfile.TemporaryDirectory() as folder:
        cache = synthetic_cache(Path(folder) / "latents", 16)
        torch.cuda.set_sync_debug_mode("warn")
        train.run(_config(cache, folder + "/out", STEPS, overrides))
        torch.cuda.set_sync_debug_mode(0)
    for stack, n in seen.most_common(8):
        print(f"=== {n} times\n{stack}")


if __name__ == "__main__":
    main()
