"""Interactive generation at batch 1: video fps and latency from action to its new frames, through
`worldsim play`'s loop (`worldsim.interactive.Session`: one latent frame per action, then decode).

    python -m benchmarks.bench_interactive --model dit_b --sizes 128 256 \
        --steps 10 8 6 4 3 2 1 --name interactive_dit_b_h200 [--compile]
    python -m benchmarks.bench_interactive --smoke   # tiny model on the CPU, seconds

Random weights (speed does not depend on them): a frame-causal DiT of configs/model/<model>.yaml
and the default VAE (space factor 4, time factor 4). Every combination of size, KV cache on/off,
CUDA graphs on/off and sampler steps runs `--measure` steps after the window is full and every
graph is captured (`--only-fast`: both on only). Figures: latency per step (ms, p50/p90, and every
step's in order), each phase's p50/p90 (`worldsim.interactive.StepTimes`: the host's launches of
denoising and decoding, then the wait for the frames) and video fps (time factor / mean). `--gc
off` pauses Python's garbage collector over the timed steps (`both`: each setting twice).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from benchmarks.record import (
    fused_kernels_argument,
    output_arguments,
    record,
    refuse_fused_without_triton,
)
from worldsim.diffusion.cuda_graphs import gc_paused
from worldsim.diffusion.flow import FlowConfig
from worldsim.diffusion.samplers import SamplerConfig
from worldsim.interactive import Session, StepTimes
from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, save_autoencoder
from worldsim.models.dit import DiTConfig
from worldsim.models.text import TextConfig
from worldsim.training.world_model import LatentInfo, OptimConfig, SampleConfig, WorldModel

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "model"
SMOKE_DIT = {"dim": 64, "depth": 2, "heads": 4, "patch": [1, 2, 2]}
SMOKE_VAE = {"base_channels": 8, "channel_mult": [1, 1, 1], "norm_groups": 4}


def world_model(dit: dict, vae: dict, action_dim: int, folder: str, device: str) -> WorldModel:
    """A random frame-causal world model with a random VAE saved in `folder`."""
    torch.manual_seed(0)
    autoencoder = VideoAutoencoder(AutoencoderConfig(**vae))
    channels = autoencoder.cfg.latent_channels
    cfg = DiTConfig(**{**dit, "patch": tuple(dit["patch"])})
    cfg.latent_channels, cfg.action_dim, cfg.attention = channels, action_dim, "causal"
    info = LatentInfo([0.0] * channels, [1.0] * channels, autoencoder=str(Path(folder) / "vae.pt"))
    save_autoencoder(autoencoder, info.autoencoder)
    module = WorldModel(cfg, FlowConfig(), OptimConfig(), TextConfig(name="none"), {}, info)
    return module.to(device).eval()


def measure(
    module, size: int, steps: int, window: int, kv: bool, graphs: bool, n: int, gc_off: bool
) -> dict:
    """Latency and fps of `n` steady-state steps (window full, graphs captured) of one setting;
    `gc_off`: Python's cyclic garbage collector paused over the timed steps."""
    sample = SampleConfig(SamplerConfig("euler", steps), window=window)
    start = np.random.default_rng(0).integers(0, 256, (1, size, size, 3), dtype=np.uint8)
    session = Session(module, start, sample, kv_cache=kv, cuda_graphs=graphs)
    width = module.model_cfg.action_dim // module.latent_info.time_factor
    action = np.eye(width, dtype=np.float32)[1 % width]
    for _ in range(window + 1):  # fill the window; capture each context length's graph
        session.step(action)
    session.times = StepTimes()
    with gc_paused() if gc_off else nullcontext():
        for _ in range(n):
            session.step(action)
    figures = session.times.summary(session.tf, skip=0)
    figures["latency_ms"] = [round(s * 1e3, 2) for s in session.times.seconds]  # in step order
    # in effect, not as asked: a CPU never replays a graph, a refused capture runs plain
    runner = session.runner
    used = {"kv_cache": runner.kv_cache, "cuda_graphs": runner.continuation.replaying}
    return {"size": size, "sampler_steps": steps, **used, "gc_paused": gc_off, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dit_b", help="configs/model/<name>.yaml")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="pixels")
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 8, 6, 4, 3, 2, 1])
    parser.add_argument("--window", type=int, default=8, help="latent frames the model sees")
    parser.add_argument("--action-dim", type=int, default=4 * 17, help="4 x Crafter's 17")
    parser.add_argument("--measure", type=int, default=30, help="timed steps per setting")
    parser.add_argument("--compile", action="store_true", help="torch.compile the DiT blocks")
    parser.add_argument(
        "--gc", choices=("on", "off", "both"), default="on", help="Python GC over timed steps"
    )
    parser.add_argument(
        "--only-fast", action="store_true", help="KV cache and CUDA graphs on only (no ablation)"
    )
    fused_kernels_argument(parser)
    output_arguments(parser, smoke="tiny model, CPU, 32 px, seconds")
    args = parser.parse_args()
    if args.smoke:
        dit, vae = SMOKE_DIT, SMOKE_VAE
        args.sizes, args.steps, args.window, args.measure = [32], [2, 1], 3, 2
    else:
        dit, vae = OmegaConf.to_container(OmegaConf.load(CONFIGS / f"{args.model}.yaml")), {}
    if args.fused_kernels is not None:
        dit = {**dit, "fused_kernels": args.fused_kernels}
    refuse_fused_without_triton(dit.get("fused_kernels", False), args.device)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        module = world_model(dit, vae, args.action_dim, folder, args.device)
        if args.compile:
            module.model.compile_blocks()
        switches = (True,) if args.only_fast else (True, False)
        gcs = {"on": (False,), "off": (True,), "both": (False, True)}[args.gc]
        for size, kv, graphs, steps, gc_off in itertools.product(
            args.sizes, switches, switches, args.steps, gcs
        ):
            runs.append(measure(module, size, steps, args.window, kv, graphs, args.measure, gc_off))
            print(runs[-1])
    figures = {
        "model": "smoke" if args.smoke else args.model,
        "params": sum(p.numel() for p in module.model.parameters()),
        "config": {k: str(v) for k, v in vars(args).items()},
        "runs": runs,
    }
    name = args.name or f"interactive_{figures['model']}_{args.device}"
    record(name, figures, args.results)


if __name__ == "__main__":
    main()
