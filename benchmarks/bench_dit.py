"""DiT throughput: training tokens/s and MFU (FLOPs from torch.utils.flop_counter), peak memory
per token, a profiler table of the top kernels, and sampling frames/s.

    python -m benchmarks.bench_dit --model dit_b --batch 128 --frames 8 --latent 16 16 \
        --compile --profile --memory --name dit_b_h200
    python -m benchmarks.bench_dit --model dit_l --batch 16 --frames 8 --latent 32 32 \
        --compile --profile --memory --name dit_l_h200        # 2,048 tokens per sample
    python -m benchmarks.bench_dit --smoke   # tiny model on the CPU, seconds

MFU = counted FLOPs per training step (forward + backward) / step time / the GPU's dense bf16 peak.
The FLOPs are counted on the eager model before any compilation. The counter's formula for a fused
attention backward includes the scores it recomputes; `mfu_model_flops` leaves them out (model
FLOPs, the usual MFU), which makes it the same for every SDPA backend, math included.
`--memory` trains a few steps with activation checkpointing off and on and records the peak memory
per token of each (CUDA). `--profile` records the top kernels by device time.

Levers that change how the step runs, not what it computes (`benchmarks/mfu_levers.sh` times
each): `--sdpa` (one SDPA backend), `--pinned-levels` (no host sync in the step),
`--compile-mode` and `--inductor KEY=VALUE` (torch.compile's mode and Inductor's config),
`--fused-adamw`, `--rope swap` (a candidate form of the model's RoPE, the same values). `--heads`
changes the model (the head width), not its FLOPs.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import sys
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.gpu_timeline import gaps, is_kernel, kernel_intervals
from benchmarks.record import (
    fused_kernels_argument,
    output_arguments,
    record,
    refuse_fused_without_triton,
)
from worldsim.diffusion.flow import FlowConfig, flow_loss, noisy, sample_levels, velocity_target
from worldsim.diffusion.modes import ModeRunner
from worldsim.diffusion.samplers import EulerSampler
from worldsim.models import dit
from worldsim.models.dit import DiT, DiTConfig, Rope

PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12}  # dense tensor-core FLOP/s
SDPA = {
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "math": SDPBackend.MATH,
}
FUSED_SDPA_BACKWARD = (
    torch.ops.aten._scaled_dot_product_cudnn_attention_backward,
    torch.ops.aten._scaled_dot_product_flash_attention_backward,
    torch.ops.aten._scaled_dot_product_efficient_attention_backward,
)  # their FLOP formula counts 5 equal matmuls: the 4 of the gradients and q k^T recomputed
CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")  # torch.compile modes that replay CUDA graphs


@dataclasses.dataclass(frozen=True)
class Levers:
    """How the timed training step runs; none changes what it computes."""

    fused_adamw: bool = False  # AdamW's single fused kernel instead of its foreach kernels
    sdpa: str = ""  # the only SDPA backend allowed (a key of SDPA); "" = PyTorch's own choice
    pinned_levels: bool = False  # levels reach the GPU from pinned memory: no host sync a step
    compile_mode: str = ""  # torch.compile mode of the whole model ("" = default)

    def attention(self):
        """The context that restricts SDPA to the chosen backend (none when unset)."""
        return sdpa_kernel(SDPA[self.sdpa]) if self.sdpa else contextlib.nullcontext()


PLAIN = Levers()  # today's default step


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


def model_flops(counter: FlopCounterMode) -> int:
    """The counted FLOPs without the attention scores a fused SDPA backward recomputes (one of its
    five equal matmuls): model FLOPs in the usual sense of MFU, the same for every SDPA backend."""
    counts = counter.get_flop_counts().get("Global", {})
    return counter.get_total_flops() - sum(counts.get(op, 0) for op in FUSED_SDPA_BACKWARD) // 5


def apply_rope_swap(x: torch.Tensor, rope: Rope) -> torch.Tensor:
    """`dit.apply_rope` as one elementwise expression over x (B, heads, N, head_dim), the same
    values: x * cos + swap(x) * sin, the tables repeated per channel pair, sin negated on even
    channels, the pair swap an index flip. A candidate for the model's form (`--rope swap`): it
    leaves each output channel a plain function of its row, which Inductor may fuse with QK-norm's
    reduction (the stacked pairs ran as separate kernels on the H200 profile)."""
    cos = rope.cos.to(x.dtype)[..., None].expand(*rope.cos.shape, 2).flatten(-2)  # (N, head_dim)
    sin = torch.stack([-rope.sin, rope.sin], -1).flatten(-2).to(x.dtype)  # (N, head_dim)
    swapped = x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)  # channels (1, 0, 3, 2, ...)
    return x * cos + swapped * sin


def training_step(
    model: DiT, cfg: DiTConfig, batch: int, frames: int, h: int, w: int, device, levers=PLAIN
):
    """One full training step on random latents (AdamW, bf16 autocast on CUDA), as a closure,
    run as `levers` say."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=levers.fused_adamw or None)
    x0 = torch.randn(batch, frames, cfg.latent_channels, h, w, device=device)  # (B, T, C, H, W)
    actions = torch.randn(batch, frames, cfg.action_dim, device=device) if cfg.action_dim else None
    flow = FlowConfig()
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tokens_per_frame = h * w // (cfg.patch[1] * cfg.patch[2])
    pin = levers.pinned_levels and device.startswith("cuda")
    graphs = levers.compile_mode in CUDAGRAPH_MODES

    def step():
        if graphs:  # the previous step's graph outputs (gradients) are no longer read
            torch.compiler.cudagraph_mark_step_begin()
        levels = sample_levels(batch, frames, tokens_per_frame, flow)  # (B, T) on the host
        # a pageable copy waits for the GPU to finish the previous step; a pinned one does not
        levels = levels.pin_memory().to(device, non_blocking=True) if pin else levels.to(device)
        noise = torch.randn_like(x0)
        autocast = torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype != torch.float32)
        with levers.attention():
            with autocast:
                pred = model(noisy(x0, noise, levels), levels, actions)
                loss = flow_loss(pred, velocity_target(x0, noise), levels)
            loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def bench_training(
    cfg: DiTConfig,
    batch: int,
    frames: int,
    h: int,
    w: int,
    steps: int = 20,
    device: str = "cuda",
    compile: str = "",
    profile: bool = False,
    levers: Levers = PLAIN,
) -> dict:
    """Tokens/s, FLOPs per step, MFU and peak memory of full training steps (AdamW, bf16 autocast
    on CUDA); with `profile`, the top kernels of a few more steps.

    FLOPs are counted on the eager model. `compile`: "" (eager), "blocks" (each block compiled
    with dynamic shapes, as `worldsim train` does) or "model" (the whole model, static shapes, in
    `levers.compile_mode`). `first_step_s` is the first timed-model step: compilation included."""
    model = DiT(cfg).to(device).train()
    step = training_step(model, cfg, batch, frames, h, w, device, levers)
    with FlopCounterMode(display=False) as counter:
        step()
    flops, useful = counter.get_total_flops(), model_flops(counter)
    if compile == "blocks":
        model.compile_blocks()
    elif compile == "model":
        model.compile(dynamic=False, mode=levers.compile_mode or None)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    first = _seconds_per_call(step, 1, warmup=0)
    seconds = _seconds_per_call(step, steps)
    tokens = batch * -(-frames // cfg.patch[0]) * -(-h // cfg.patch[1]) * -(-w // cfg.patch[2])
    peak = peak_flops()
    memory = torch.cuda.max_memory_allocated() if device.startswith("cuda") else None
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
        "model_flops_per_step": useful,
        "mfu_model_flops": useful / seconds / peak if peak else None,
        "first_step_s": first,
        "compiled": compile or "eager",
        "fused_adamw": levers.fused_adamw,
        "levers": dataclasses.asdict(levers),
        "checkpointing": cfg.checkpointing,
        "peak_memory_gib": memory / 2**30 if memory else None,
        "peak_memory_kib_per_token": memory / tokens / 2**10 if memory else None,
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "top_kernels": top_kernels(step) if profile else None,
    }


def top_kernels(step, steps: int = 3, rows: int = 20) -> dict:
    """The `rows` kernels (ops on a CPU) with the most self device time over `steps` calls."""
    from torch.profiler import ProfilerActivity, profile

    cuda = torch.cuda.is_available()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        _sync()
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    averages = prof.key_averages()
    kernels = [e for e in averages if is_kernel(e)]  # on CUDA the GPU kernels themselves
    events = sorted(kernels or averages, key=lambda e: getattr(e, key), reverse=True)
    total = sum(getattr(e, key) for e in events) or 1.0
    return {
        "steps": steps,
        # the GPU's gaps between kernels: launches one after another, or the GPU starved
        "timeline": gaps(kernel_intervals(prof), steps) if cuda else None,
        "table": averages.table(sort_by=key, row_limit=rows),
        "top": [
            {
                "name": e.key[:120],
                "calls": e.count,
                "self_ms_per_step": getattr(e, key) / 1e3 / steps,
                "share": getattr(e, key) / total,
            }
            for e in events[:rows]
        ],
    }


def memory_per_token(cfg: DiTConfig, batch, frames, h, w, device, compile, levers) -> dict:
    """Peak training memory per token with activation checkpointing off and on (CUDA)."""
    runs = {}
    for checkpointing in (False, True):
        run = dataclasses.replace(cfg, checkpointing=checkpointing)
        figures = bench_training(run, batch, frames, h, w, 3, device, compile, False, levers)
        runs["on" if checkpointing else "off"] = {
            k: figures[k]
            for k in ("peak_memory_gib", "peak_memory_kib_per_token", "tokens_per_s", "step_s")
        }
    return runs


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


def lever_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `Levers` and Inductor's config."""
    parser.add_argument("--fused-adamw", action="store_true", help="AdamW(fused=True)")
    parser.add_argument(
        "--sdpa", default="", choices=["", *SDPA], help="allow only this SDPA backend"
    )
    parser.add_argument(
        "--pinned-levels", action="store_true", help="copy levels from pinned memory (no sync)"
    )
    parser.add_argument(
        "--compile-mode",
        default="",
        choices=["", "max-autotune-no-cudagraphs", "max-autotune", "reduce-overhead"],
        help="torch.compile mode of --compile model",
    )
    parser.add_argument(
        "--inductor",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set torch._inductor.config.KEY (e.g. max_autotune_gemm=True), repeatable",
    )
    parser.add_argument(
        "--rope",
        default="pairs",
        choices=["pairs", "swap"],
        help="the model's RoPE (pairs) or apply_rope_swap (the same values)",
    )


def set_inductor_options(pairs: list[str]) -> dict:
    """Set KEY=VALUE pairs of torch._inductor.config (process-wide: a process times one
    configuration), values as Python literals (else strings); an unknown key or a pair without
    '=' is bad input. Returns what it set."""
    import torch._inductor.config as inductor

    known = inductor.get_config_copy()
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in known:
            print(
                f"--inductor {pair}: not KEY=VALUE of a torch._inductor.config key", file=sys.stderr
            )
            sys.exit(2)
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
        setattr(inductor, key, options[key])
    return options


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dit_s", help="configs/model/<name>.yaml")
    parser.add_argument(
        "--depth", type=int, default=0, help="override the config's depth (0: keep)"
    )
    parser.add_argument(
        "--heads", type=int, default=0, help="override the config's heads (0: keep)"
    )
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--latent", type=int, nargs=2, default=[16, 16])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--action-dim", type=int, default=12)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sample-steps", type=int, default=10)
    parser.add_argument(
        "--compile",
        nargs="?",
        const="blocks",
        default="",
        choices=["blocks", "model"],
        help="time compiled training steps: each block (default, as `worldsim train`) or the model",
    )
    lever_arguments(parser)
    parser.add_argument(
        "--checkpointing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="activation checkpointing on/off (default: the model config's)",
    )
    fused_kernels_argument(parser)
    parser.add_argument("--profile", action="store_true", help="record the top kernels")
    parser.add_argument("--memory", action="store_true", help="peak memory, checkpointing on/off")
    parser.add_argument(
        "--sampling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time autoregressive sampling (eager)",
    )
    output_arguments(parser, smoke="tiny model on the CPU, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.depth, args.batch, args.frames, args.latent, args.channels = 2, 2, 2, [4, 4], 4
        args.steps, args.sample_steps, args.action_dim = 2, 2, 4
    return args


def dit_config(name: str, channels: int, action_dim: int) -> DiTConfig:
    """configs/model/<name>.yaml with the data's latent channels and action width; an unknown
    name is one line and exit 2."""
    models = Path(__file__).resolve().parents[1] / "configs" / "model"
    path = models / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in models.glob("dit_*.yaml")))
        print(f"--model {name}: no configs/model/{name}.yaml; one of {known}", file=sys.stderr)
        sys.exit(2)
    yaml = OmegaConf.load(path)
    cfg = DiTConfig(
        **{**OmegaConf.to_container(yaml), "latent_channels": channels, "action_dim": action_dim}
    )
    cfg.patch = tuple(cfg.patch)
    return cfg


def model_config(args: argparse.Namespace) -> DiTConfig:
    """`dit_config` of --model with the benchmark's depth, heads and checkpointing."""
    cfg = dit_config(args.model, args.channels, args.action_dim)
    cfg.depth = args.depth or cfg.depth
    cfg.heads = args.heads or cfg.heads
    if args.checkpointing is not None:
        cfg.checkpointing = args.checkpointing
    if args.fused_kernels is not None:
        cfg.fused_kernels = args.fused_kernels
    refuse_fused_without_triton(cfg.fused_kernels, args.device)
    if args.smoke:  # heads of width 16
        cfg.dim, cfg.heads = 16 * (args.heads or 4), args.heads or 4
    if cfg.dim % cfg.heads:
        print(
            f"--heads {cfg.heads}: {args.model}'s width {cfg.dim} must divide by it",
            file=sys.stderr,
        )
        sys.exit(2)
    return cfg


def main() -> None:
    args = arguments()
    cfg = model_config(args)
    options = set_inductor_options(args.inductor)
    if args.rope == "swap":  # the blocks look apply_rope up in their module when traced
        dit.apply_rope = apply_rope_swap
    levers = Levers(args.fused_adamw, args.sdpa, args.pinned_levels, args.compile_mode)
    h, w = args.latent
    shape = (args.batch, args.frames, h, w)
    how = (args.device, args.compile)
    sampling = (args.batch, h, w, args.frames, 2 if args.smoke else 8, args.sample_steps)
    figures = {
        "model": args.model,
        "config": {k: str(v) for k, v in vars(args).items()},
        "heads": cfg.heads,
        "inductor": options,
        "training": bench_training(cfg, *shape, args.steps, *how, args.profile, levers),
        "memory": memory_per_token(cfg, *shape, *how, levers) if args.memory else None,
        "sampling": bench_sampling(cfg, *sampling, args.device) if args.sampling else None,
    }
    record(args.name or f"{args.model}_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
