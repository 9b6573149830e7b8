"""Rollout throughput of the game envs (ViZDoom, Crafter) into an episode store, per env and policy.

    python -m benchmarks.bench_games [--envs doom_my_way_home crafter] [--episodes 4] [--steps 200]

Writes benchmarks/results/games_<env>.json. Frames/s include env resets (Crafter's world generation
is pure-Python noise, ~2.5 s per 64x64 world), truth extraction, captions and the atomic store writes.
"""

from __future__ import annotations

import argparse
import tempfile

from envs.make import make_env
from envs.rollout import rollout
from worldsim.config import load_config, to_object
from worldsim.jobs.rollout import Config as RolloutConfig

from benchmarks.record import record

GAME_ENVS = ["doom_my_way_home", "doom_health_gathering", "doom_deathmatch", "crafter"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=GAME_ENVS, help="configs/env/<name>.yaml names")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--policies", nargs="+", default=["random", "scripted"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    for name in args.envs:
        env = to_object(load_config(RolloutConfig, [f"env={name}"])).env
        make_env(env).close()  # import costs stay out of the timing
        figures = {"env": env.id, "resolution": [env.width, env.height], "kwargs": dict(env.kwargs),
                   "episodes": args.episodes, "steps": args.steps, "runs": []}
        for policy in args.policies:
            for workers in args.workers:
                with tempfile.TemporaryDirectory() as out:
                    summary = rollout(env, out, args.episodes, args.steps, seed=0, workers=workers,
                                      policy=policy, progress=False)
                figures["runs"].append({"policy": policy, "workers": workers, "frames": summary.frames,
                                        "seconds": round(summary.seconds, 2),
                                        "frames_per_s": round(summary.frames_per_second, 1)})
        record(f"games_{name}", figures)


if __name__ == "__main__":
    main()
