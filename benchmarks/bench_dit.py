"""DiT throughput: training tokens/s and MFU (FLOPs from torch.utils.flop_counter), sampling
frames/s.

    python -m benchmarks.bench_dit --model dit_s --batch 64 --frames 8 --latent 16 16 \
        --name dit_s8_h100 [--compile]

MFU = counted FLOPs per training step (forward + backward) / step time / the GPU's dense bf16 peak.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.record import RESULTS, record
from worldsim.diffusion.flow import FlowConfig, flow_loss, noisy, sample_levels, velocity_target
from worldsim.diffusion.modes import ModeRunner
from worldsim.diffusion.samplers import EulerSampler
from worldsim.models.dit import DiT, DiTConfig

PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12}  # dense tensor-core FLOP/s


def peak_flops() -> float | None:
    """Dense bf16 peak of the current GPU, when known."""
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _seconds_per_call(fn, calls: int, warmup: int = 3) -> float:
    """Mean wall time of `fn()` over `calls` calls after `warmup` (and compilation) calls."""
    for _ in range(warmup):
        fn()
    _sync()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    _sync()
    return (time.perf_counter() - start) / calls


def bench_training(
    cfg: DiTConfig,
    batch: int,
    frames: int,
    h: int,
    w: int,
    steps: int = 20,
    device: str = "cuda",
    compile: bool = False,
) -> dict:
    """Tokens/s, FLOPs per step and MFU of full training steps (AdamW, bf16 autocast on CUDA).

    FLOPs are counted on the eager model; with `compile` the timed steps run compiled blocks."""
    model = DiT(cfg).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x0 = torch.randn(batch, frames, cfg.latent_channels, h, w, device=device)
    actions = torch.randn(batch, frames, cfg.action_dim, device=device) if cfg.action_dim else None
    flow = FlowConfig()
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32

    def step():
        levels = sample_levels(batch, frames, h * w // (cfg.patch[1] * cfg.patch[2]), flow).to(
            device
        )
        noise = torch.randn_like(x0)
        with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype != torch.float32):
            loss = flow_loss(
                model(noisy(x0, noise, levels), levels, actions), velocity_target(x0, noise), levels
            )
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    if compile:
        model.compile_blocks()
    seconds = _seconds_per_call(step, steps)
    tokens = batch * -(-frames // cfg.patch[0]) * -(-h // cfg.patch[1]) * -(-w // cfg.patch[2])
    peak = peak_flops()
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "batch": batch,
        "latent_frames": frames,
        "latent_hw": [h, w],
        "tokens_per_step": tokens,
        "step_s": seconds,
        "tokens_per_s": tokens / seconds,
        "flops_per_step": flops,
        "achieved_tflops": flops / seconds / 1e12,
        "mfu": flops / seconds / peak if peak else None,
        "compiled": compile,
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
    }


@torch.no_grad()
def bench_sampling(
    cfg: DiTConfig,
    batch: int,
    h: int,
    w: int,
    window: int,
    new: int,
    steps: int,
    device: str = "cuda",
) -> dict:
    """Latent frames/s of autoregressive rollout (Euler, `steps` per frame, one new frame per
    window)."""
    model = DiT(cfg).to(device).eval()
    context = torch.randn(batch, window - 1, cfg.latent_channels, h, w, device=device)
    actions = (
        torch.randn(batch, window - 1 + new, cfg.action_dim, device=device)
        if cfg.action_dim
        else None
    )
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    runner = ModeRunner(model, EulerSampler(steps))
    with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype != torch.float32):
        runner.rollout(context, 2, actions, window, 1)  # warm-up
        _sync()
        start = time.perf_counter()
        runner.rollout(context, new, actions, window, 1)
        _sync()
    seconds = time.perf_counter() - start
    return {
        "batch": batch,
        "window": window,
        "euler_steps": steps,
        "latent_frames": new * batch,
        "latent_frames_per_s": new * batch / seconds,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dit_s", help="configs/model/<name>.yaml")
    parser.add_argument(
        "--depth", type=int, default=0, help="override the config's depth (0: keep)"
    )
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--latent", type=int, nargs=2, default=[16, 16])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--action-dim", type=int, default=12)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sample-steps", type=int, default=10)
    parser.add_argument(
        "--compile", action="store_true", help="time torch.compile'd training steps"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--name", default="", help="record as benchmarks/results/<name>.json")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the recorded json")
    args = parser.parse_args()
    yaml = OmegaConf.load(
        Path(__file__).resolve().parents[1] / "configs" / "model" / f"{args.model}.yaml"
    )
    cfg = DiTConfig(
        **{
            **OmegaConf.to_container(yaml),
            "latent_channels": args.channels,
            "action_dim": args.action_dim,
        }
    )
    cfg.patch = tuple(cfg.patch)
    cfg.depth = args.depth or cfg.depth
    h, w = args.latent
    figures = {
        "model": args.model,
        "config": {k: str(v) for k, v in vars(args).items()},
        "training": bench_training(
            cfg, args.batch, args.frames, h, w, args.steps, args.device, args.compile
        ),
        "sampling": bench_sampling(
            cfg, args.batch, h, w, args.frames, 8, args.sample_steps, args.device
        ),
    }
    record(args.name or f"{args.model}_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
