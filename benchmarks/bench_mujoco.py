"""MuJoCo scene throughput on one core: frames/s with RGB + depth + segmentation + object truth.

    LP_NUM_THREADS=1 python -m benchmarks.bench_mujoco [--size 64] [--episodes 4] [--steps 64]

Each frame is a full env step (physics substeps, contact events, RGB pass, depth + id pass,
visibility). The process is pinned to one CPU core and Mesa's llvmpipe to one thread, so the
figure is per core; resets are timed separately.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym

import envs  # noqa: F401  (registers the ids)
from benchmarks.record import record
from envs.mujoco import SCENARIOS
from envs.mujoco.render import BACKEND


def measure(env_id: str, size: int, episodes: int, steps: int) -> dict[str, float]:
    """Mean step and reset throughput of `episodes` scripted episodes of `steps` frames."""
    env = gym.make(env_id, width=size, height=size)
    env.reset(seed=10_000)  # GL context creation stays out of the timing
    step_s = reset_s = 0.0
    for seed in range(episodes):
        t0 = time.perf_counter()
        env.reset(seed=seed)
        t1 = time.perf_counter()
        for _ in range(steps - 1):
            env.step(env.unwrapped.scripted_action())
        step_s += time.perf_counter() - t1
        reset_s += t1 - t0
    env.close()
    return {
        "frames_per_s": round(episodes * (steps - 1) / step_s, 1),
        "reset_ms": round(1000 * reset_s / episodes, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=64)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    figures = {
        "backend": BACKEND,
        "lp_num_threads": os.environ.get("LP_NUM_THREADS", "unset"),
        "resolution": [args.size, args.size],
        "episodes": args.episodes,
        "steps": args.steps,
        "truth": "rgb + depth + instance + object table + events",
        "scenarios": {},
    }
    for env_id in SCENARIOS:
        figures["scenarios"][env_id] = measure(env_id, args.size, args.episodes, args.steps)
    figures["load_average_1min"] = round(
        os.getloadavg()[0], 2
    )  # other processes on the machine share the core
    record(f"mujoco_{BACKEND}_{args.size}px", figures)


if __name__ == "__main__":
    main()
