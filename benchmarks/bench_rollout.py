"""Rollout throughput into an episode store: frames/s in total and per worker, per env and policy.

    python -m benchmarks.bench_rollout [--envs bounce doom_my_way_home crafter] [--episodes 8]
        [--steps 64] [--size 64] [--policies random scripted] [--workers 1 2]

Writes benchmarks/results/rollout_<env>.json. Frames/s include env resets (Crafter's world
generation is pure-Python noise, ~2.5 s per 64x64 world), truth extraction, captions and the atomic
store writes; with 2 workers also the start of the worker processes, so short jobs under-state the
scaling."""

from __future__ import annotations

import argparse
import tempfile

from benchmarks.record import record
from envs.make import make_env
from worldsim.config import load_config, to_object
from worldsim.data.record import record_episodes
from worldsim.jobs.record import Config as RecordConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--envs", nargs="+", default=["bounce"], help="configs/env/<name>.yaml names"
    )
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument(
        "--size", type=int, default=0, help="frame width and height (0: the config's)"
    )
    parser.add_argument("--policies", nargs="+", default=["random"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    size = [f"env.width={args.size}", f"env.height={args.size}"] if args.size else []
    for name in args.envs:
        env = to_object(load_config(RecordConfig, [f"env={name}", *size])).env
        make_env(env).close()  # import costs stay out of the timing
        figures = {
            "env": env.id,
            "resolution": [env.width, env.height],
            "kwargs": dict(env.kwargs),
            "episodes": args.episodes,
            "steps": args.steps,
            "runs": [],
        }
        for policy in args.policies:
            for workers in args.workers:
                with tempfile.TemporaryDirectory() as out:
                    summary = record_episodes(
                        env,
                        out,
                        args.episodes,
                        args.steps,
                        seed=0,
                        workers=workers,
                        policy=policy,
                        progress=False,
                    )
                figures["runs"].append(
                    {
                        "policy": policy,
                        "workers": workers,
                        "frames": summary.frames,
                        "seconds": round(summary.seconds, 2),
                        "frames_per_s": round(summary.frames_per_second, 1),
                        "frames_per_s_per_worker": round(summary.frames_per_second / workers, 1),
                    }
                )
        record(f"rollout_{name}", figures)


if __name__ == "__main__":
    main()
