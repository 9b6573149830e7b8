"""The longest clip that trains on one GPU: the most latent frames at batch 1 for which full
training steps (forward, backward, AdamW; bf16 autocast, eager) fit in GPU memory.

    python -m benchmarks.bench_longest_clip --model dit_b --latent 32 32 \
        --name longest_clip_dit_b_128px_h200
    python -m benchmarks.bench_longest_clip --smoke   # tiny model on the CPU, seconds

128x128 video is a 32x32 latent (the VAE's space factor 4), 256 tokens a latent frame with patch
1x2x2; each latent frame after the first covers 4 video frames (time factor 4). The frame count
doubles from --start until a step runs out of memory (torch.cuda.OutOfMemoryError), then bisects
between the last count that fitted and the first that did not, to within 1/8 of it, never above
--max-frames (2,048 by default: 8,193 video frames, 9 minutes at 15 fps). Attention spans the
whole clip, so a step's time grows with the square of its length: the last trials take tens of
seconds on an H200. A CPU never runs out of memory: --smoke
checks that the trials run, up to --max-frames.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import torch

from benchmarks.bench_dit import dit_config, training_step
from benchmarks.record import output_arguments, record
from worldsim.models.dit import DiT, DiTConfig


def _trains(cfg: DiTConfig, frames: int, h: int, w: int, device: str) -> dict | None:
    """Peak memory and seconds of a second training step on one (1, frames, C, h, w) clip, or
    None when it runs out of GPU memory (the caller frees it, once this frame is gone)."""
    try:
        step = training_step(DiT(cfg).to(device).train(), cfg, 1, frames, h, w, device)
        step()  # the first step also allocates AdamW's moments
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        began = time.perf_counter()
        step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    except torch.cuda.OutOfMemoryError:
        return None
    peak = torch.cuda.max_memory_allocated() if device.startswith("cuda") else None
    return {"step_s": time.perf_counter() - began, "peak_gib": peak / 2**30 if peak else None}


def trial(cfg: DiTConfig, frames: int, h: int, w: int, device: str) -> dict | None:
    """`_trains`, then the memory of the model, its gradients and AdamW given back."""
    figures = _trains(cfg, frames, h, w, device)
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    print(
        f"{frames} latent frames: {'fits' if figures else 'out of memory'} {figures or ''}",
        flush=True,
    )
    return figures


def longest(fits: Callable[[int], bool], start: int, cap: int) -> int:
    """The largest n <= cap with fits(n), where fits holds up to some n (0 if not even start):
    doubling, then bisection to within n / 8."""
    good, bad, n = 0, cap + 1, start
    while good < cap:
        n = min(n, cap)
        if not fits(n):
            bad = n
            break
        good, n = n, 2 * n
    while bad - good > max(1, good // 8):
        mid = (good + bad) // 2
        good, bad = (mid, bad) if fits(mid) else (good, mid)
    return good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dit_b", help="configs/model/<name>.yaml")
    parser.add_argument("--latent", type=int, nargs=2, default=[32, 32], help="latent H W")
    parser.add_argument("--channels", type=int, default=16, help="latent channels (our VAE: 16)")
    parser.add_argument("--action-dim", type=int, default=12)
    parser.add_argument("--start", type=int, default=16, help="first frame count tried")
    parser.add_argument("--max-frames", type=int, default=2048, help="longest clip tried")
    output_arguments(parser, smoke="tiny model on the CPU, up to 6 frames")
    args = parser.parse_args()
    cfg = dit_config(args.model, args.channels, args.action_dim)
    if args.smoke:
        args.latent, args.start, args.max_frames = [4, 4], 2, 6
        cfg.dim, cfg.depth, cfg.heads = 32, 1, 4
    h, w = args.latent
    trials: dict[int, dict | None] = {}

    def fits(frames: int) -> bool:
        trials[frames] = trial(cfg, frames, h, w, args.device)
        return trials[frames] is not None

    frames = longest(fits, args.start, args.max_frames)
    tokens_per_frame = h * w // (cfg.patch[1] * cfg.patch[2])
    figures = {
        "config": {k: str(v) for k, v in vars(args).items()},
        "checkpointing": cfg.checkpointing,
        "longest_latent_frames": frames,
        "video_frames": 1 + 4 * (frames - 1) if frames else 0,
        "tokens": frames * tokens_per_frame,
        "capped": frames == args.max_frames,
        "trials": trials,
    }
    record(args.name or f"longest_clip_{args.model}_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
