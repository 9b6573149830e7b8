"""Sampling time of a shipped model on the CPU: `frames` new frames from one context frame.

python -m benchmarks.bench_pretrained [--model pretrained:crafter] [--frames 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.record import record
from worldsim.predictor import DiTPredictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pretrained:crafter")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    args = parser.parse_args()

    start = time.perf_counter()
    model = DiTPredictor.from_checkpoint(args.model)
    load_s = time.perf_counter() - start
    module = model.module
    width = module.model_cfg.action_dim // module.latent_info.time_factor
    context = torch.rand(1, 1, 3, args.height, args.width) * 2 - 1  # (B, Tc, C, H, W)
    actions = torch.zeros(1, 1 + args.frames, width)  # (B, Tc + frames, A): no-ops
    prompts = ["The player moves 3 cells east. It is daytime."]
    model.at_step([0])  # from the episode's first step: a model told the game clock needs it
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        frames = model.predict(context, actions, prompts, args.frames)
        seconds.append(time.perf_counter() - start)
    record(
        f"sample_{args.model.replace('pretrained:', '')}_cpu",
        {
            "model": args.model,
            "new_frames": int(frames.shape[1]),
            "resolution": [args.height, args.width],
            "sampler": model.config()["sampler"],
            "load_s": round(load_s, 2),
            "sample_s": [round(s, 2) for s in seconds],
            "median_sample_s": round(statistics.median(seconds), 2),
            "threads": torch.get_num_threads(),
        },
    )
    print(f"{args.model}: {args.frames} frames in {statistics.median(seconds):.1f} s (median)")


if __name__ == "__main__":
    main()
