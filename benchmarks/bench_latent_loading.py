"""Latent window loading: seconds per training batch of `LatentDataModule`'s loader (the default,
non-resident path of `worldsim train`), on the random cache of `bench_train_loop --synthetic`.

    python -m benchmarks.bench_latent_loading --episodes 256 --batch 128 --batches 20 \
        --workers 0 2 --name latent_loading_cpu

The first batch of each run (worker start-up) is not timed. Issue 18's training-loop overhead:
at these shapes the H200 loop took 229 ms a step against the model's 118 ms with this loader.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.bench_train_loop import _config, synthetic_cache
from benchmarks.record import record
from worldsim.data.latent_datamodule import LatentDataModule


def seconds_per_batch(cache: str, batch: int, batches: int, workers: int) -> float:
    """Mean seconds of `batches` training batches after the first."""
    with tempfile.TemporaryDirectory() as out:
        overrides = ["model=dit_b", f"data.batch_size={batch}", f"data.num_workers={workers}"]
        cfg = _config(cache, out, 1, overrides)
    data = LatentDataModule(cfg.data)
    data.setup("fit")
    loader = iter(data.train_dataloader())
    next(loader)
    began = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return (time.perf_counter() - began) / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=256, help="random episodes in the cache")
    parser.add_argument("--batch", type=int, default=128, help="windows a batch")
    parser.add_argument("--batches", type=int, default=20, help="timed batches a run")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="loader processes")
    parser.add_argument("--name", default="", help="record as benchmarks/results/<name>.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cache = synthetic_cache(Path(folder) / "latents", args.episodes)
        runs = [
            {"workers": w, "batch_s": seconds_per_batch(cache, args.batch, args.batches, w)}
            for w in args.workers
        ]
    figures = {"episodes": args.episodes, "batch": args.batch, "runs": runs}
    if args.name:
        record(args.name, figures)
    else:
        print(figures)


if __name__ == "__main__":
    main()
