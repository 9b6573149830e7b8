"""Quality against sampler steps on a trained model: PSNR of the next latent frame (teacher-forced)
and of an autoregressive horizon, from 10 Euler steps down to 1, beside copy-last.

    python -m benchmarks.bench_steps_quality --ckpt pretrained:crafter --store DATA/crafter \
        --steps 10 8 6 4 3 2 1 --windows 64 --name steps_quality_crafter_h200
    python -m benchmarks.bench_steps_quality --smoke   # one recorded Crafter episode, CPU

Episodes come from an episode store (`--store`, held-out episodes of the model's env), else are
recorded from `--env` with the random policy. Scores use `evals.latent_rollout` (the issue-15
measurements), with the checkpoint's sampler at each step count; pick the fewest steps whose PSNR
stays within the noise of 10 steps.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.record import output_arguments, record
from evals.latent_rollout import encode_latent_episode, horizon_psnr, teacher_forced
from worldsim.data.store import EpisodeStore
from worldsim.training.world_model import load_world_model


def episodes(store: str, env: str, count: int, frames: int, folder: str) -> list:
    """`count` episodes of `store`, or recorded from configs/env/<env>.yaml into `folder`."""
    if not store:
        from worldsim.config import load_config, to_object
        from worldsim.data.record import record_episodes
        from worldsim.jobs.record import Config as RecordConfig

        store = str(Path(folder) / "store")
        env_cfg = to_object(load_config(RecordConfig, [f"env={env}"])).env
        record_episodes(env_cfg, store, count, frames, seed=1, progress=False)
    found = EpisodeStore(store)
    return [found.load(name) for name in found.names()[:count]]


def scores(module, eps, windows, context: int, horizon: int) -> dict:
    """Mean teacher-forced PSNR and horizon PSNR (per frame) of the model and copy-last."""
    forced = teacher_forced(module, eps, windows, length=context + 1)
    long = [e for e in eps if len(e.latents) >= context + horizon]
    rolled, _, _ = horizon_psnr(module, long, context, horizon) if long else ({}, None, None)
    return {
        "teacher_forced_psnr": float(np.mean(forced["model"])),
        "copy_last_psnr": float(np.mean(forced["copy_last"])),
        "horizon_psnr_per_frame": rolled.get("model"),
        "horizon_psnr_mean": float(np.mean(rolled["model"])) if long else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", default="pretrained:crafter")
    parser.add_argument("--store", default="", help="episode store (default: record --env)")
    parser.add_argument("--env", default="crafter", help="configs/env/<name>.yaml to record")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--frames", type=int, default=97, help="frames per recorded episode")
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 8, 6, 4, 3, 2, 1])
    parser.add_argument("--windows", type=int, default=64, help="teacher-forced windows")
    parser.add_argument("--context", type=int, default=7, help="latent context frames")
    parser.add_argument("--horizon", type=int, default=8, help="autoregressive latent frames")
    output_arguments(parser, smoke="one short episode, CPU, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.episodes, args.frames, args.steps, args.windows = 1, 21, [2, 1], 2
        args.context, args.horizon = 3, 2
    module = load_world_model(args.ckpt, args.device)
    with tempfile.TemporaryDirectory() as folder:
        raw = episodes(args.store, args.env, args.episodes, args.frames, folder)
    eps = [encode_latent_episode(module, e, text=bool(module.model_cfg.text_dim)) for e in raw]
    length = args.context + 1
    windows = [(e, k) for e, ep in enumerate(eps) for k in range(len(ep.latents) - length + 1)]
    windows = windows[:: max(1, len(windows) // args.windows)][: args.windows]
    runs = []
    for steps in args.steps:
        module.sample_cfg.sampler.steps = steps
        runs.append(
            {"sampler_steps": steps, **scores(module, eps, windows, args.context, args.horizon)}
        )
        print(runs[-1])
    figures = {
        "ckpt": args.ckpt,
        "config": {k: str(v) for k, v in vars(args).items()},
        "episodes": len(eps),
        "windows": len(windows),
        "runs": runs,
    }
    record(args.name or f"steps_quality_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
