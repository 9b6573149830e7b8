"""FSDP: `worldsim train train=dit_fsdp` trains, saves and resumes on 2 GPUs, and the EMA callback
(the VAE's and the world model's: worldsim.training.callbacks.EMA) refuses FSDP with a clear error.

    NCCL_NVLS_ENABLE=0 python -m benchmarks.bench_fsdp --cache DATA/latents --steps 20 40 \
        --name fsdp_dit_b_h200x2 -- model=dit_b data.batch_size=32
    python -m benchmarks.bench_fsdp --smoke   # tiny model and cache, 2 CPU processes, ddp

Run 1 trains A steps into a fresh out=; run 2, the same command with B steps, must resume from
run 1's last.ckpt (global step A) and stop at step B; the export it writes (ema.ckpt, gathered from
the shards) must load. Run 3 asks for an EMA (train.ema_decay=0.999) under FSDP and must fail
naming the reason. Lightning's FSDP needs a GPU, so --smoke trains, saves and resumes with
strategy=ddp over gloo and does not run the refusal (tests/test_autoencoder_callbacks.py checks
it on the CPU).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from benchmarks.bench_ddp import train_process, trained
from benchmarks.bench_train_loop import scratch, train_arguments, train_overrides
from benchmarks.record import record
from worldsim.training.world_model import load_world_model

REFUSAL = "EMA over FSDP-sharded weights"  # the start of the EMA callback's error


def global_step(out: str) -> int:
    """The optimiser step that `out`'s last.ckpt was saved at."""
    ckpt = torch.load(
        Path(out) / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
    )
    return ckpt["global_step"]


def fsdp_args(cache: str, out: str, steps: int, overrides: list[str]) -> list[str]:
    """`worldsim train` arguments of a `steps`-step train=dit_fsdp run on 2 devices."""
    # the group first: its file sets max_steps and the intervals that train_overrides replace
    return ["train=dit_fsdp", *train_overrides(cache, out, steps, overrides), "train.devices=2"]


def save_and_resume(cache: str, out: str, steps: tuple[int, int], overrides, smoke) -> dict:
    """Train steps[0] steps into `out`, then rerun to steps[1]: it must resume where run 1 ended."""
    first_s, _ = trained(fsdp_args(cache, out, steps[0], overrides), smoke)
    saved = global_step(out)
    second_s, stdout = trained(fsdp_args(cache, out, steps[1], overrides), smoke)
    figures = {
        "steps_saved": saved,
        "resumed": "train: resuming from" in stdout,
        "steps_after_resume": global_step(out),
        "first_run_s": first_s,
        "resumed_run_s": second_s,
        "export_loads": load_world_model(str(Path(out) / "ema.ckpt")) is not None,
    }
    figures["ok"] = (saved, figures["steps_after_resume"]) == steps and figures["resumed"]
    return figures


def ema_refusal(cache: str, out: str, overrides: list[str]) -> dict:
    """Train with an EMA under FSDP: the run must fail with the EMA callback's reason."""
    args = fsdp_args(cache, out, 2, [*overrides, "train.ema_decay=0.999"])
    wall, done = train_process(args, smoke=False, timeout_s=300)
    reason = next((line for line in done.stderr.splitlines() if REFUSAL in line), "")
    figures = {"exit_code": done.returncode, "reason": reason, "wall_s": wall, "ok": bool(reason)}
    if not reason:  # it failed otherwise, or trained: what it said
        figures["stderr_tail"] = done.stderr[-2000:]
    return figures


def main() -> None:
    smoke = "tiny model and cache, 2 CPU processes, strategy=ddp"
    args = train_arguments(__doc__, [20, 40], "steps before/after", smoke)
    os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # recorded with the command (record.py)
    with scratch(args, "data.val_fraction=0", "train.strategy=ddp") as folder:
        runs = (args.cache, str(folder / "run"), tuple(args.steps), args.overrides)
        figures = {
            "config": {k: str(v) for k, v in vars(args).items()},
            "save_and_resume": save_and_resume(*runs, args.smoke),
            "ema_refusal": "not run: Lightning's FSDP needs a GPU"
            if args.smoke
            else ema_refusal(args.cache, str(folder / "ema_run"), args.overrides),
        }
    record(args.name or f"fsdp_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
