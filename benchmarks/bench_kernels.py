"""The DiT's Triton kernels one op at a time, at a model's training shapes: each kernel launched by
Triton itself (eager) and from Inductor's generated code (compiled), beside the PyTorch forms it
replaces (eager and compiled), forward and forward + backward, with the specialisation Triton
compiled each launch with (pointer alignment and integer divisibility, warps, stages).

    python -m benchmarks.bench_kernels --model dit_b --batch 128 --frames 8 --latent 16 16 \
        --name kernels_dit_b_h200
    python -m benchmarks.bench_kernels --smoke    # tiny shapes on the CPU: the PyTorch forms only

Why: in the whole compiled `dit_b` step three of the four kernels ran 1.3-1.8x slower once
Inductor launched them (`torch.library.triton_op`) than as opaque ops launched by Triton
(benchmarks/README, session 34). The specialisations side by side told why (session 35): the
same alignment, divisibility, warps and stages, but Inductor typed the float `eps` as fp64,
which made the kernels' arithmetic fp64 until they cast it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

import torch
import torch.nn as nn

from benchmarks.bench_dit import _seconds_per_call, dit_config
from benchmarks.record import output_arguments, record
from worldsim.models import kernels
from worldsim.models.dit import RMSNorm, modulated_norm, normed_heads, rope_tables

LOCATION = r" loc\((?:[^()]|\([^()]*\))*\)"  # an MLIR source location, as loc("x"(#loc3))
FORMS = ("pytorch", "pytorch_compiled", "kernel", "kernel_compiled")  # (fused, compiled) each


def qk_case(batch: int, grid: tuple[int, int, int], dim: int, heads: int, device: str):
    """`normed_heads` at these shapes -> (fn(fused), its inputs that take gradients)."""
    n = grid[0] * grid[1] * grid[2]
    qkv = torch.randn(batch, n, 3 * dim, device=device, dtype=torch.bfloat16)  # (B, N, 3 * D)
    q_norm, k_norm = RMSNorm(dim // heads).to(device), RMSNorm(dim // heads).to(device)
    rope = rope_tables(grid, dim // heads, 10000.0, device)

    def fn(fused: bool, x: torch.Tensor):
        return normed_heads(x, q_norm, k_norm, rope, heads, fused)

    return fn, qkv


def ada_case(batch: int, grid: tuple[int, int, int], dim: int, device: str):
    """`modulated_norm` at these shapes -> (fn(fused), its input that takes gradients)."""
    frames, n = grid[0], grid[0] * grid[1] * grid[2]
    x = torch.randn(batch, n, dim, device=device, dtype=torch.bfloat16)  # (B, F * S, D)
    shift, scale = 0.1 * torch.randn(2, batch, frames, dim, device=device, dtype=x.dtype)
    norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)

    def fn(fused: bool, x: torch.Tensor):
        return modulated_norm(norm, x, shift, scale, frames, fused)

    return fn, x


def time_forms(fn, x: torch.Tensor, calls: int, forms: tuple[str, ...]) -> dict:
    """ms per call of each form's forward, and of its forward + backward (x's gradient)."""
    x = x.detach().requires_grad_()
    out = {}
    for form in forms:
        fused, compiled = form.startswith("kernel"), form.endswith("compiled")
        run = torch.compile(fn, dynamic=False) if compiled else fn

        def forward(run=run, fused=fused):
            with torch.no_grad():
                run(fused, x)

        def both(run=run, fused=fused):
            outputs = run(fused, x)
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            torch.autograd.backward(outputs, [torch.ones_like(o) for o in outputs])

        out[form] = {
            "forward_ms": 1e3 * _seconds_per_call(forward, calls),
            "forward_backward_ms": 1e3 * _seconds_per_call(both, calls),
        }
        torch._dynamo.reset()  # each compiled form compiles anew, not from the previous form
    return out


def specialisations(cache: Path, names: tuple[str, ...]) -> list[dict]:
    """Each compiled variant of the named Triton kernels in Triton's cache: its TTIR signature
    (the `tt.divisibility` of every argument, locations dropped), warps and stages."""
    found = []
    for ttir in sorted(cache.rglob("*.ttir")):
        if not ttir.stem.startswith(names):  # Inductor may suffix its copy's name
            continue
        head = next(line for line in ttir.read_text().splitlines() if "tt.func public" in line)
        meta = json.loads(ttir.with_suffix(".json").read_text())
        found.append(
            {
                "kernel": ttir.stem,
                "signature": re.sub(LOCATION, "", head.strip()),
                "num_warps": meta.get("num_warps"),
                "num_stages": meta.get("num_stages"),
            }
        )
    return found


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dit_b", help="configs/model/<name>.yaml (width, heads)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--frames", type=int, default=8, help="latent frames")
    parser.add_argument("--latent", type=int, nargs=2, default=[16, 16], help="latent height width")
    parser.add_argument("--calls", type=int, default=50, help="timed calls per form")
    output_arguments(parser, smoke="tiny shapes, a few calls (the CPU: PyTorch forms only)")
    args = parser.parse_args()
    if args.smoke:
        args.batch, args.frames, args.latent, args.calls = 2, 2, [4, 4], 2
    return args


def main() -> None:
    args = arguments()
    # fresh caches: Triton's and Inductor's compiles of this run both land in `cache`, none is
    # taken from an earlier run's
    cache = Path(tempfile.mkdtemp(prefix="bench_kernels_"))
    os.environ["TRITON_CACHE_DIR"] = str(cache / "triton")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache / "inductor")
    cfg = dit_config(args.model, 16, 0)
    if args.smoke:
        cfg.dim, cfg.heads = 64, 4
    grid = (args.frames, args.latent[0] // cfg.patch[1], args.latent[1] // cfg.patch[2])
    on_gpu = kernels.AVAILABLE and args.device.startswith("cuda")
    forms = FORMS if on_gpu else FORMS[:2]  # the kernels need Triton and CUDA
    cases = {
        "qk_norm_rope": qk_case(args.batch, grid, cfg.dim, cfg.heads, args.device),
        "ada_layer_norm": ada_case(args.batch, grid, cfg.dim, args.device),
    }
    figures = {
        "model": args.model,
        "shape": {"batch": args.batch, "tokens": grid[0] * grid[1] * grid[2], "width": cfg.dim},
        "heads": cfg.heads,
        "ops": {op: time_forms(*case, args.calls, forms) for op, case in cases.items()},
        "kernels_ran": on_gpu,
        "specialisations": specialisations(
            cache / "triton",
            (
                "_qk_norm_rope_forward",
                "_qk_norm_rope_backward",
                "_ada_layer_norm_forward",
                "_ada_layer_norm_backward",
            ),
        ),
    }
    record(args.name or f"kernels_{args.model}_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
