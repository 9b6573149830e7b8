"""Video VAE throughput and memory: chunked encode/decode of one long episode, and batched clips.

    python benchmarks/bench_autoencoder.py --device cpu \
        --out benchmarks/results/autoencoder_cpu.json
    python benchmarks/bench_autoencoder.py --device cuda \
        --checkpoint runs/gpu/vae_bounce.ckpt --out ...

Peak memory on CPU is the process's max resident set (imports included); on GPU, torch's peak
allocation. Throughput does not depend on the weights, so a random model of the same config
stands in when no checkpoint is given.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from dataclasses import asdict
from pathlib import Path

import torch

from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder, load_autoencoder


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bench(
    model: VideoAutoencoder,
    device: str,
    frames: int,
    size: int,
    batch: int,
    clip: int,
    repeats: int,
    dtype: torch.dtype,
) -> dict:
    """Timings (frames/s) and peak memory of episode-long chunked encode/decode and batched clip
    encode."""
    gen = torch.Generator().manual_seed(0)
    episode = (torch.rand(1, 3, frames, size, size, generator=gen) * 2 - 1).to(
        device
    )  # (1, C, T, H, W)
    clips = (torch.rand(batch, 3, clip, size, size, generator=gen) * 2 - 1).to(
        device
    )  # (B, C, T, H, W)
    result: dict = {"rss_before_mb": _rss_mb()}
    with (
        torch.no_grad(),
        torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype != torch.float32),
    ):
        model.decode(
            model.encode(episode[:, :, : 1 + 2 * model.time_factor])
        )  # warm-up (cudnn autotuning)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        _sync(device)
        t0 = time.perf_counter()
        z = model.encode(episode)
        _sync(device)
        t1 = time.perf_counter()
        recon = model.decode(z)
        _sync(device)
        t2 = time.perf_counter()
        assert recon.shape == episode.shape
        result.update(
            episode_frames=frames,
            latent_shape=list(z.shape),
            episode_encode_fps=frames / (t1 - t0),
            episode_decode_fps=frames / (t2 - t1),
        )
        if device.startswith("cuda"):
            result["episode_peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        result["episode_peak_rss_mb"] = _rss_mb()  # before the batched clips, which need more
        model.encode(clips)  # warm-up at the batched shape
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(repeats):
            model.encode(clips)
        _sync(device)
        result.update(
            clip_batch=batch,
            clip_frames=clip,
            clip_encode_fps=repeats * batch * clip / (time.perf_counter() - t0),
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint", default="")
    parser.add_argument("--frames", type=int, default=1001)  # 1 + 4k: a 1,000-frame episode
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--clip", type=int, default=17)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    model = (
        load_autoencoder(args.checkpoint, args.device)
        if args.checkpoint
        else VideoAutoencoder(AutoencoderConfig()).to(args.device).eval()
    )
    result = bench(
        model,
        args.device,
        args.frames,
        args.size,
        args.batch,
        args.clip,
        args.repeats,
        getattr(torch, args.dtype),
    )
    result.update(
        device=torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else platform.processor() or platform.machine(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        dtype=args.dtype,
        size=args.size,
        checkpoint=args.checkpoint or None,
        model=asdict(model.cfg),
        parameters=sum(p.numel() for p in model.parameters()),
    )
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
