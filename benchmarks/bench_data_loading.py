"""Clip loading throughput of the episode store: clips/s and frames/s through the DataLoader.

python -m benchmarks.bench_data_loading [--episodes 16] [--steps 128] [--size 64] [--clip 17]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from benchmarks.record import record
from envs.make import EnvConfig
from worldsim.data.clips import ClipConfig
from worldsim.data.datamodule import DataConfig, EpisodeDataModule
from worldsim.data.record import record_episodes


def clips_per_second(root: str, clip: int, batch_size: int, num_workers: int) -> dict[str, float]:
    """One pass over the training clips; the first batch (worker start-up) is not timed."""
    data = EpisodeDataModule(
        DataConfig(
            root=root,
            clips=ClipConfig(lengths=[clip], stride=clip // 2),
            batch_size=batch_size,
            num_workers=num_workers,
            val_fraction=0.0,
        )
    )
    data.setup()
    loader = iter(data.train_dataloader())
    next(loader)
    clips, start = 0, time.perf_counter()
    for batch in loader:
        clips += batch["frames"].shape[0]
    seconds = time.perf_counter() - start
    return {
        "num_workers": num_workers,
        "clips": clips,
        "clips_per_s": round(clips / seconds, 1),
        "frames_per_s": round(clips * clip / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--clip", type=int, default=17)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        env = EnvConfig(id="worldsim/MujocoBounce-v0", width=args.size, height=args.size)
        record_episodes(env, root, args.episodes, args.steps, workers=2, progress=False)
        runs = [clips_per_second(root, args.clip, args.batch_size, workers) for workers in (0, 2)]
    record(
        "data_loading",
        {
            "store": f"{args.episodes} Bounce episodes x {args.steps} frames at {args.size}px",
            "clip_frames": args.clip,
            "batch_size": args.batch_size,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
