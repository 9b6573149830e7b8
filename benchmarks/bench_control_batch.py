"""Control grid time: a cell's prompt-control episodes played one by one against in lockstep, their
plans imagined in one batch (`control.batch`). Same seeds; how far the executed actions of the
two runs came apart (batched kernels round differently); wall time per plan of one episode.

python -m benchmarks.bench_control_batch --model MODEL [--env push_control] [--task push_left]
    [--episodes 8] [--steps 24] [--device auto]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks.record import record
from worldsim.config import load_config, to_object
from worldsim.control.grid import Harness
from worldsim.jobs.control import Config, _models, _tasks
from worldsim.jobs.encode import resolve_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="world model file or pretrained:NAME")
    parser.add_argument("--env", default="push_control")
    parser.add_argument("--task", default="push_left")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--steps", type=int, default=24, help="env steps per episode")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    cfg = to_object(load_config(Config, [f"env={args.env}", f"ckpt={args.model}",
                                         f"tasks=[{args.task}]", f"device={args.device}",
                                         f"control.max_steps={args.steps}"]))  # fmt: skip
    (task,) = _tasks(cfg)
    module, idm = _models(cfg, task.family, imagine=True)
    seeds = list(range(cfg.seed, cfg.seed + args.episodes))
    figures, played = {}, {}
    for batch in (1, args.episodes):
        harness = Harness(module, idm, cfg.control)
        start = time.perf_counter()
        with torch.no_grad():
            played[batch] = [
                r for k in range(0, len(seeds), batch)
                for r, _ in harness.episodes(task, "prompt", seeds[k : k + batch])
            ]  # fmt: skip
        seconds = time.perf_counter() - start
        plans = sum(len(r.plans) for r in played[batch])
        figures[f"batch_{batch}"] = {"seconds": round(seconds, 2), "plans": plans,
                                     "ms_per_plan": round(1000 * seconds / plans, 1)}  # fmt: skip
    pairs = list(zip(played[1], played[args.episodes], strict=True))
    same_steps = all(a.steps == b.steps and a.success == b.success for a, b in pairs)
    drift = max(  # batched kernels round differently: how far apart the executed actions came
        float(np.abs(np.asarray(a.actions[:n], float) - np.asarray(b.actions[:n], float)).max())
        for a, b in pairs
        for n in [min(a.steps, b.steps)]
    )
    one, many = (figures[f"batch_{b}"]["seconds"] for b in (1, args.episodes))
    record(
        f"control_batch_{args.env}_{resolve_device(args.device)}",
        {
            "model": args.model,
            "task": args.task,
            "episodes": args.episodes,
            "env_steps": args.steps,
            "execute": cfg.control.execute,
            "same_steps_and_success": same_steps,
            "max_action_difference": drift,
            **figures,
            "speedup": round(one / many, 2),
            "threads": torch.get_num_threads(),
        },
    )
    print(f"{args.episodes} episodes: one by one {one:.1f} s, in lockstep {many:.1f} s "
          f"({one / many:.1f}x); largest difference of an executed action {drift:.2g}")  # fmt: skip


if __name__ == "__main__":
    main()
