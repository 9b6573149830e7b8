"""DDP scaling: tokens/s of the whole `worldsim train` loop on 1 and on 2 GPUs, and their ratio.

    NCCL_NVLS_ENABLE=0 python -m benchmarks.bench_ddp --cache DATA/latents --steps 20 420 \
        --name ddp_dit_b_h200x2 -- model=dit_b data.batch_size=128 train.compile=true
    python -m benchmarks.bench_ddp --smoke   # tiny model and cache, 1 and 2 CPU processes (gloo)

Each run is its own `python -m worldsim.cli train` process, as a user starts it, so Lightning's
DDP launcher starts the second rank from that command, not from this script. As in
bench_train_loop, the time per step is the difference of two runs of `--steps` A and B steps
divided by B - A (start-up, compilation and the export cancel; with train.compile=true an untimed
run first fills the compile caches, so both timed runs read them warm). B - A must make the timed
difference long against start-up jitter: 400 steps are ~20 s at dit_b's 45 ms. `data.batch_size`
is per GPU: a step on 2 GPUs trains twice the samples. One GPU runs `train.strategy=auto`, two
run `ddp`. NVLink multicast (NVLS) stays off: NCCL_NVLS_ENABLE=0 unless the caller sets it.
Target (issue 18): 2 GPUs reach >= 1.8x the tokens/s of one.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from subprocess import PIPE

from benchmarks.bench_train_loop import (
    first_batch,
    scratch,
    timed_runs,
    train_arguments,
    train_overrides,
)
from benchmarks.record import record


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through train_process, which stops its ranks


def _kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL `proc`'s session: rank 0 and the ranks Lightning started from it."""
    with contextlib.suppress(ProcessLookupError):  # all gone already
        os.killpg(proc.pid, signal.SIGKILL)


def train_process(
    args: list[str], smoke: bool, timeout_s: float = 900
) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds and the finished process of one `worldsim train` with `args`. One that runs
    past `timeout_s` (a rank waiting on one that died) is killed with its ranks, and so is one
    running when this benchmark stops (Ctrl-C, or SIGTERM from `timeout`)."""
    env = dict(os.environ)
    if smoke:  # two ranks share the machine's cores
        env["OMP_NUM_THREADS"] = "1"
    signal.signal(signal.SIGTERM, _stop)
    command = [sys.executable, "-m", "worldsim.cli", "train", *args]
    began = time.perf_counter()
    with subprocess.Popen(
        command, stdout=PIPE, stderr=PIPE, text=True, env=env, start_new_session=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_session(proc)
            stdout, stderr = proc.communicate()
        except BaseException:
            _kill_session(proc)
            raise
    done = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
    return time.perf_counter() - began, done


def trained(args: list[str], smoke: bool) -> tuple[float, str]:
    """Wall seconds and stdout of one `worldsim train` with `args`; raises with the tail of its
    stderr when it fails."""
    wall, done = train_process(args, smoke)
    if done.returncode:
        raise RuntimeError(f"worldsim train {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return wall, done.stdout


def step_seconds(
    cache: str, steps: tuple[int, int], devices: int, overrides: list[str], smoke, warm_up=False
) -> dict:
    """Seconds per step of `worldsim train` on `devices` GPUs (CPU processes in --smoke); with
    `warm_up`, an untimed run first fills torch.compile's on-disk caches, which every later run
    reads (the first timed run would compile cold, the second warm: no cancelling)."""
    strategy = "ddp" if devices > 1 else "auto"

    def run(n: int) -> float:
        with tempfile.TemporaryDirectory() as out:
            args = train_overrides(cache, out, n, overrides)
            wall, stdout = trained(
                [*args, f"train.devices={devices}", f"train.strategy={strategy}"], smoke
            )
        if devices > 1 and f"; {devices} processes" not in stdout:  # the ranks really joined
            raise RuntimeError(f"the run on {devices} devices trained in one process:\n{stdout}")
        return wall

    return timed_runs(run, steps, warm_up)


def window_tokens(latents, patch: tuple[int, int, int]) -> int:
    """DiT tokens of one window of a (B, T, C, H, W) batch (a cache of one latent size and one
    `data.lengths` gives every window the same)."""
    _, t, _, h, w = latents.shape
    return math.ceil(t / patch[0]) * math.ceil(h / patch[1]) * math.ceil(w / patch[2])


def main() -> None:
    smoke = "tiny model and cache, 1 and 2 CPU processes"
    args = train_arguments(__doc__, [20, 420], "two run lengths", smoke)
    os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # recorded with the command (record.py)
    with scratch(args, "data.val_fraction=0"):
        # latents to count tokens in (a resident loader yields window ids)
        cfg, first = first_batch(args.cache, [*args.overrides, "data.resident=false"])
        runs = {}
        for d in (1, 2):
            # the 2-GPU runs read the caches that the 1-GPU warm-up filled
            warm_up = (cfg.train.compile or cfg.train.compile_model) and d == 1
            runs[d] = step_seconds(
                args.cache, tuple(args.steps), d, args.overrides, args.smoke, warm_up
            )
    batch, tokens = cfg.data.batch_size, window_tokens(first["latents"], cfg.model.patch)
    figures = {
        "config": {k: str(v) for k, v in vars(args).items()},
        "batch_per_device": batch,
        "tokens_per_sample": tokens,
    }
    for d, run in runs.items():
        figures[f"devices_{d}"] = {**run, "tokens_per_s": d * batch * tokens / run["step_s"]}
    figures["scaling"] = figures["devices_2"]["tokens_per_s"] / figures["devices_1"]["tokens_per_s"]
    record(args.name or f"ddp_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
