"""World model on MuJoCo Bounce + Orbit: rollouts -> (VAE) -> latent caches -> DiT -> evaluation.

One GPU, one command (RESULTS.md has the exact one):
    python3 experiments/world_model/bounce_orbit.py --work /tmp/wm --out $OUT --minutes 5.5
`--smoke` shrinks every stage (CPU check of the pipeline in about two minutes).
Measures: teacher-forced next-frame PSNR vs copy-last-frame, a long autoregressive rollout and
whether it collapses, whether Orbit's camera follows the actions (true vs negated / zero / other
episode's actions), training tokens/s + MFU and sampling frames/s. Writes results.json, gifs and
the EMA checkpoint (fp16, split in parts of < 15 MB so it can travel).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", flush=True)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-frame PSNR (dB) of (..., C, H, W) videos in [-1, 1] (peak-to-peak 2)."""
    mse = (a.float() - b.float()).pow(2).flatten(-3).mean(-1).clamp(min=1e-10)
    return 10 * torch.log10(4.0 / mse)


def frames_of(store, name: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(T, 3, H, W) in [-1, 1], actions (T, A), prompt of one stored episode."""
    ep = store.load(name)
    video = torch.from_numpy(np.array(ep.frames)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return video, torch.from_numpy(np.array(ep.actions, np.float32)), ep.captions.get("prompt", "")


def x_shift(video: torch.Tensor, gap: int, most: int = 3) -> torch.Tensor:
    """Horizontal image translation (pixels, phase correlation within +-most) from frame t to t + gap."""
    gray = video.float().mean(dim=-3)  # (T, H, W)
    gray = gray - gray.mean(dim=(-2, -1), keepdim=True)
    a, b = torch.fft.rfft2(gray[:-gap]), torch.fft.rfft2(gray[gap:])
    cross = b * a.conj()
    corr = torch.fft.irfft2(cross / cross.abs().clamp(min=1e-8), s=gray.shape[-2:]).mean(
        dim=-2
    )  # (T-gap, W)
    window = torch.cat([corr[:, -most:], corr[:, : most + 1]], dim=-1)  # shifts -most .. most
    return window.argmax(dim=-1).float() - most


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.float() - a.float().mean(), b.float() - b.float().mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp(min=1e-8))


# ---------------------------------------------------------------------------- stages


def make_data(args, work: Path) -> dict[str, Path]:
    from envs.make import EnvConfig
    from worldsim.data.record import record_episodes

    envs = {"bounce": "worldsim/MujocoBounce-v0", "orbit": "worldsim/MujocoOrbit-v0"}
    n, t, nt, tt = args.episodes, args.frames, args.test_episodes, 5 + args.horizon
    plan = {  # store: (env, policy, episodes, frames, seed, width)
        "bounce": ("bounce", "random", args.bounce_episodes or n, t, 0, 64),
        "orbit_scripted": ("orbit", "scripted", n, t, 0, 64),
        "orbit_random": (
            "orbit",
            "random",
            n // 2,
            t,
            50000,
            96,
        ),  # a second resolution in the same run
        "bounce_test": ("bounce", "random", nt, tt, 900000, 64),
        "orbit_test": ("orbit", "scripted", nt, tt, 900000, 64),
    }
    stores = {}
    for name, (env, policy, episodes, frames, seed, width) in plan.items():
        if env not in args.envs or (args.eval_only and not name.endswith("_test")):
            continue
        summary = record_episodes(
            EnvConfig(id=envs[env], width=width, height=64, kwargs={}),
            str(work / name),
            episodes,
            frames,
            seed,
            args.workers,
            "0/1",
            policy,
            False,
        )
        log(
            f"rollout {name}: {summary.written} episodes, {summary.frames} frames, "
            f"{summary.frames_per_second:.0f} frames/s"
        )
        stores[name] = work / name
    return stores


def get_vae(args, work: Path, stores: dict[str, Path]) -> tuple[Path, bool]:
    if args.vae and Path(args.vae).is_file():
        log(f"using VAE {args.vae}")
        return Path(args.vae), False
    from worldsim.config import load_config, to_object
    from worldsim.jobs import train_vae

    log(f"no VAE at {args.vae!r}: training one for {args.vae_minutes} min on Bounce + Orbit")
    root = stores.get("orbit_scripted" if args.smoke else "bounce") or next(iter(stores.values()))
    overrides = [
        f"data.root={root}",
        f"trainer.max_minutes={args.vae_minutes}",
        "trainer.video_every_vals=0",
        "eval_episodes=2",
        "loss.perceptual=none",  # the LPIPS backbone weights cannot be fetched on the device
        f"data.num_workers={min(8, args.workers)}",
        f"out={work / 'vae'}",
        f"export={work / 'vae.ckpt'}",
    ]
    if args.smoke:
        overrides += [
            "model.base_channels=16",
            "model.latent_channels=4",
            "model.norm_groups=4",
            "data.batch_size=2",
            "trainer.max_steps=3",
            "trainer.precision=32-true",
        ]
    cfg = to_object(load_config(train_vae.Config, ["configs/train/vae_bounce.yaml", *overrides]))
    train_vae.run(cfg)
    return work / "vae.ckpt", True


def encode_all(args, work: Path, stores: dict[str, Path], vae: Path) -> dict[str, Path]:
    from worldsim.jobs import encode

    caches = {}
    for name, store in stores.items():
        if name.endswith("_test"):
            continue
        encode.run(
            encode.Config(store=str(store), checkpoint=str(vae), out=str(work / f"latents_{name}"))
        )
        caches[name] = work / f"latents_{name}"
        log(f"encoded {name}")
    return caches


def training_shift(args) -> float:
    """The training resolution shift of a 64x64 frame (16x16 latents, 2x2 patches = 64 tokens); the sampler
    uses the same so that its grid spends its steps where training put its levels."""
    from worldsim.diffusion.flow import resolution_shift

    return resolution_shift(64, args.shift_base)


def last_checkpoint(work: Path) -> Path:
    """The Lightning checkpoint a training run in `work` leaves (and `--resume` continues from)."""
    return work / "dit" / "checkpoints" / "last.ckpt"


def train_dit(args, work: Path, caches: dict[str, Path]) -> Path:
    from worldsim.config import load_config, to_object
    from worldsim.jobs import train

    roots = ",".join(str(c) for c in caches.values())
    overrides = [
        f"data.roots=[{roots}]",
        "data.lengths=[5,8]",
        "data.stride=1",
        f"data.batch_size={args.batch}",
        f"data.num_workers={min(6, args.workers)}",
        "data.val_fraction=0.05",
        "text.name=none",
        f"train.max_minutes={args.minutes}",
        "train.max_steps=1000000",
        "train.val_every=1000",
        "train.limit_val_batches=2",
        "train.ckpt_every=100000",
        "train.ema_decay=0.999",
        "optim.lr=3e-4",
        "optim.warmup_steps=200",
        "sample.sampler.steps=10",
        f"flow.shift_base_tokens={args.shift_base}",
        f"sample.sampler.shift={training_shift(args)}",
        f"out={work / 'dit'}",
    ]
    if args.resume:  # Lightning restores the step, optimiser, EMA and the time already spent (--minutes is the total)
        overrides.append(f"train.resume={last_checkpoint(work)}")
    overrides += (
        ["model=dit_tiny", "train.precision=32-true"]
        if args.smoke
        else ["model=dit_s", f"model.depth={args.depth}"]
    )
    overrides.append(f"train.compile={args.compile}")
    train.run(to_object(load_config(train.Config, overrides)))
    return work / "dit" / "ema.ckpt"


def teacher_forced_summary(m, mm, c, r, cr) -> dict:
    """Teacher-forced PSNRs (pos, B, 4 offsets) of a sample, the mean of samples, copy-last, the VAE's
    reconstruction and copy-last through the VAE -> means over all windows and over the moving ones."""
    moving = c.mean(-1) < 35.0  # windows where something moves (a held frame is not near-exact)

    def on_moving(window_values: torch.Tensor) -> float | None:
        """Mean over the moving windows of a (pos, B) tensor; None when nothing moves."""
        return float(window_values[moving].float().mean()) if moving.any() else None

    return {
        "windows": int(m.shape[0] * m.shape[1]),
        "model_psnr": float(m.mean()),
        "model_mean_psnr": float(mm.mean()),
        "copy_last_psnr": float(c.mean()),
        "vae_recon_psnr": float(r.mean()),
        "copy_last_through_vae_psnr": float(cr.mean()),
        "model_psnr_per_offset": m.mean(dim=(0, 1)).tolist(),
        "copy_last_psnr_per_offset": c.mean(dim=(0, 1)).tolist(),
        "model_mean_psnr_per_offset": mm.mean(dim=(0, 1)).tolist(),
        "model_beats_copy_fraction": float((m.mean(-1) > c.mean(-1)).float().mean()),
        "model_mean_beats_copy_fraction": float((mm.mean(-1) > c.mean(-1)).float().mean()),
        "moving_windows": int(moving.sum()),
        "moving_model_psnr": on_moving(m.mean(-1)),
        "moving_model_mean_psnr": on_moving(mm.mean(-1)),
        "moving_model_beats_copy_fraction": on_moving(m.mean(-1) > c.mean(-1)),
        "moving_model_mean_beats_copy_fraction": on_moving(mm.mean(-1) > c.mean(-1)),
        "moving_copy_last_psnr": on_moving(c.mean(-1)),
        "moving_copy_last_through_vae_psnr": on_moving(cr.mean(-1)),
        "moving_vae_recon_psnr": on_moving(r.mean(-1)),
    }


@torch.no_grad()
def evaluate(args, stores: dict[str, Path], ckpt: Path, device: str) -> dict:
    from worldsim.data.store import EpisodeStore
    from worldsim.diffusion.guidance import GuidanceConfig
    from worldsim.diffusion.samplers import SamplerConfig
    from worldsim.predictor import DiTPredictor
    from worldsim.training.world_model import SampleConfig, load_world_model
    from worldsim.video import frame_grid, to_uint8, write_video

    module = load_world_model(str(ckpt), device)
    shift = (
        module.sample_cfg.sampler.shift
    )  # the training resolution shift, recorded at training time
    sample = SampleConfig(
        SamplerConfig("euler", args.sample_steps, shift),
        GuidanceConfig(1.0, args.action_scale),
        window=8,
        chunk=1,
    )
    pred = DiTPredictor(module, sample)
    # A sample is one draw from p(next | context): where the future is uncertain (when exactly a ball
    # bounces), a sharp draw in the wrong place costs twice the error of the conditional mean, the
    # PSNR-optimal point forecast. The mean of K samples (seeds 0..K-1) estimates that mean.
    draws = [pred] + [DiTPredictor(module, sample, seed) for seed in range(1, args.mean_of)]
    vae = module.autoencoder()
    results: dict = {
        "sampler": {
            "name": "euler",
            "steps": args.sample_steps,
            "shift": shift,
            "window_latent_frames": 8,
            "action_scale": args.action_scale,
            "mean_of": args.mean_of,
        }
    }
    tests = {}
    for env in args.envs:
        store = EpisodeStore(stores[f"{env}_test"])
        eps = [frames_of(store, n) for n in store.names()[: args.test_episodes]]
        tests[env] = (
            torch.stack([e[0] for e in eps]),
            torch.stack([e[1] for e in eps]),
            [e[2] for e in eps],
        )

    # (a) teacher-forced next latent frame (= next 4 pixel frames) from 25 true context frames
    ctx_len, step = 25, 4
    for env, (video, actions, prompts) in tests.items():
        starts = list(range(0, video.shape[1] - ctx_len - 4 + 1, args.tf_stride))
        model_p, mean_p, copy_p, recon_p, copy_recon_p = [], [], [], [], []
        for s in starts:
            ctx, truth = video[:, s : s + ctx_len], video[:, s + ctx_len : s + ctx_len + step]
            acts = actions[:, s : s + ctx_len + step]
            samples = torch.stack(
                [d.predict(ctx, acts, prompts, step) for d in draws]
            )  # (K, B, 4, 3, H, W)
            model_p.append(psnr(samples[0], truth))
            mean_p.append(psnr(samples.mean(0), truth))
            copy_p.append(psnr(ctx[:, -1:].expand_as(truth), truth))
            clip = video[:, s : s + ctx_len + step].to(device)
            recon = (
                vae.decode(vae.encode(clip.permute(0, 2, 1, 3, 4)))
                .permute(0, 2, 1, 3, 4)
                .clamp(-1, 1)
            )
            recon_p.append(psnr(recon[:, -step:].float().cpu(), truth))  # the VAE's ceiling
            # the same baseline seen through the VAE: its reconstruction of the last context frame, held
            copy_recon_p.append(
                psnr(recon[:, -step - 1 : -step].float().cpu().expand_as(truth), truth)
            )
        m, mm, c, r, cr = (
            torch.stack(v) for v in (model_p, mean_p, copy_p, recon_p, copy_recon_p)
        )  # (pos, B, 4)
        results[f"teacher_forced_{env}"] = teacher_forced_summary(m, mm, c, r, cr)
        if m.shape[1] > 8:  # the 8 test episodes of the earlier runs, for comparison across runs
            results[f"teacher_forced_{env}"]["episodes_0_7"] = teacher_forced_summary(
                *(v[:, :8] for v in (m, mm, c, r, cr))
            )
        log(f"teacher-forced {env}: {results[f'teacher_forced_{env}']}")

    # (b) long autoregressive rollouts from 5 true frames
    tiles, captions = [], []
    for env, (video, actions, prompts) in tests.items():
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = pred.predict(video[:, :5], actions, prompts, args.horizon)  # (B, horizon, 3, H, W)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        truth = video[:, 5 : 5 + args.horizon]
        p, copy = psnr(out, truth), psnr(video[:, 4:5].expand_as(truth), truth)
        bucket = max(1, args.horizon // 8)
        spatial = lambda v: v.float().flatten(-3).std(-1)  # noqa: E731  (B, T) per-frame contrast
        motion = lambda v: (v[:, 1:] - v[:, :-1]).abs().mean(dim=(-3, -2, -1))  # noqa: E731
        tail = slice(-min(64, args.horizon), None)
        results[f"rollout_{env}"] = {
            "episodes": int(out.shape[0]),
            "horizon": args.horizon,
            "seconds": seconds,
            "pixel_frames_per_s": out.shape[0] * args.horizon / seconds,
            "psnr_by_bucket": [
                float(p[:, i : i + bucket].mean()) for i in range(0, args.horizon, bucket)
            ],
            "copy_first_psnr_by_bucket": [
                float(copy[:, i : i + bucket].mean()) for i in range(0, args.horizon, bucket)
            ],
            "finite": bool(torch.isfinite(out).all()),
            "contrast_ratio_last64": float(
                spatial(out)[:, tail].mean() / spatial(truth)[:, tail].mean()
            ),
            "motion_ratio_last64": float(
                motion(out[:, tail]).mean() / motion(truth[:, tail]).mean().clamp(min=1e-6)
            ),
            "mean_colour_error_last64": float(
                (out[:, tail].mean(dim=(-2, -1)) - truth[:, tail].mean(dim=(-2, -1))).abs().mean()
            ),
            "saturated_fraction": float((out.abs() > 0.99).float().mean()),
            "truth_saturated_fraction": float((truth.abs() > 0.99).float().mean()),
        }
        log(f"rollout {env}: {results[f'rollout_{env}']}")
        for i in range(min(2, out.shape[0])):
            tiles += [to_uint8(truth[i].numpy()), to_uint8(out[i].numpy())]
            captions += [f"{env} truth", f"{env} model"]
    write_video(
        Path(args.out) / f"rollout{args.horizon}.gif",
        frame_grid(tiles, columns=4, captions=captions, caption_lines=1)[::2],
        fps=10,
    )

    # (c) does Orbit's camera follow the actions?
    if "orbit" not in tests:
        return results
    video, actions, prompts = tests["orbit"]
    horizon = min(48, args.horizon)
    variants = {
        "true": actions,
        "negated": -actions,
        "zero": torch.zeros_like(actions),
        "other_episode": actions.roll(1, dims=0),
    }
    truth = video[:, 5 : 5 + horizon]
    # Image shift over one latent frame (4 frames): the per-frame camera motion is often under a pixel,
    # which an integer phase-correlation peak cannot see. Compared with the yaw commands of those frames.
    gap = 4
    yaw = actions[:, 5 : 5 + horizon, 0]  # yaw command of each generated frame
    yaw_windows = torch.cat([y[1:].unfold(0, gap, 1).sum(-1) for y in yaw])  # frames t+1 .. t+gap
    shift_truth = torch.cat([x_shift(v, gap, most=8) for v in truth])
    orbit: dict = {
        "horizon": horizon,
        "shift_gap_frames": gap,
        "truth_shift_vs_yaw_corr": correlation(shift_truth, yaw_windows),
    }
    outs = {}
    for name, acts in variants.items():
        out = pred.predict(video[:, :5], acts, prompts, horizon)
        outs[name] = out
        shift = torch.cat([x_shift(v, gap, most=8) for v in out])
        orbit[name] = {
            "psnr": float(psnr(out, truth).mean()),
            "shift_vs_true_yaw_corr": correlation(shift, yaw_windows),
            "shift_vs_truth_shift_corr": correlation(shift, shift_truth),
            "mean_abs_shift_px": float(shift.abs().mean()),
        }
    orbit["truth_mean_abs_shift_px"] = float(shift_truth.abs().mean())
    results["orbit_actions"] = orbit
    log(f"orbit actions: {orbit}")
    tiles, captions = [], []
    for i in range(min(2, video.shape[0])):
        tiles.append(to_uint8(truth[i].numpy()))
        captions.append("truth")
        for name in ("true", "negated", "zero"):
            tiles.append(to_uint8(outs[name][i].numpy()))
            captions.append(f"{name} actions")
    write_video(
        Path(args.out) / "orbit_actions.gif",
        frame_grid(tiles, columns=4, captions=captions, caption_lines=1),
        fps=10,
    )
    return results


def benchmark(args, ckpt: Path, device: str) -> dict:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.bench_dit import bench_sampling, bench_training
    from worldsim.training.world_model import load_world_model

    cfg = load_world_model(str(ckpt)).model_cfg
    lat = 16
    return {
        "model": {
            k: getattr(cfg, k)
            for k in ("dim", "depth", "heads", "patch", "latent_channels", "action_dim")
        },
        "training": bench_training(cfg, args.batch, 8, lat, lat, 10 if args.smoke else 30, device),
        "sampling": bench_sampling(
            cfg, 16, lat, lat, 8, 4 if args.smoke else 32, args.sample_steps, device
        ),
    }


def save_checkpoint(args, ckpt: Path, vae: Path, vae_trained: bool) -> list[str]:
    """fp16 EMA checkpoint (VAE path made repo-relative), split into parts small enough to travel."""
    from worldsim.models.autoencoder import load_autoencoder, save_autoencoder
    from worldsim.training.world_model import export_checkpoint, load_world_model

    module = load_world_model(str(ckpt))
    module.latents.autoencoder = (
        "runs/gpu/vae_bounce.ckpt" if not vae_trained else "runs/gpu/vae_dit_run.ckpt"
    )
    full = Path(args.out) / f"dit_{'_'.join(args.envs)}.ckpt"
    export_checkpoint(module, str(full))
    data, part, written = full.read_bytes(), 15 * 2**20, []
    if len(data) > part:
        for i in range(math.ceil(len(data) / part)):
            path = full.with_name(f"{full.name}.part{i}")
            path.write_bytes(data[i * part : (i + 1) * part])
            written.append(path.name)
        full.unlink()
    else:
        written.append(full.name)
    if vae_trained:
        model = load_autoencoder(vae).half()
        save_autoencoder(model, Path(args.out) / "vae_dit_run.ckpt")
        written.append("vae_dit_run.ckpt")
    log(f"checkpoint: {len(data) / 2**20:.1f} MB -> {written}")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/wm")
    parser.add_argument("--out", default=os.environ.get("OUT", "runs/world_model_bounce_orbit"))
    parser.add_argument("--vae", default="runs/gpu/vae_bounce.ckpt")
    parser.add_argument("--vae-minutes", type=float, default=1.5)
    parser.add_argument("--episodes", type=int, default=96)
    parser.add_argument(
        "--bounce-episodes", type=int, default=0, help="Bounce training episodes (0: --episodes)"
    )
    parser.add_argument("--frames", type=int, default=129)
    parser.add_argument("--test-episodes", type=int, default=8)
    parser.add_argument("--horizon", type=int, default=256)
    parser.add_argument("--tf-stride", type=int, default=24)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--sample-steps", type=int, default=10)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument(
        "--shift-base",
        type=int,
        default=256,
        help="tokens per frame at which the training level shift is 1 (64 tokens: shift sqrt(64/base))",
    )
    parser.add_argument(
        "--mean-of", type=int, default=4, help="samples averaged into the mean forecast"
    )
    parser.add_argument(
        "--action-scale", type=float, default=1.0, help="guidance scale of the actions"
    )
    parser.add_argument(
        "--eval-only", default="", help="skip training: evaluate this world-model checkpoint"
    )
    parser.add_argument(
        "--envs", default="bounce,orbit", help="which of bounce, orbit to train and evaluate on"
    )
    parser.add_argument("--resume", action="store_true", help="continue the training run in --work")
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="stop after training (continue later with --resume; evaluation runs then)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the DiT for training")
    parser.add_argument(
        "--bench", action="store_true", help="also benchmark training and sampling throughput"
    )
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    args.envs = [e for e in args.envs.split(",") if e]
    if not args.envs or set(args.envs) - {"bounce", "orbit"}:
        parser.error(f"--envs {','.join(args.envs)}: choose from bounce, orbit")
    if args.mean_of < 1:
        parser.error(f"--mean-of {args.mean_of}: average at least 1 sample")
    if args.smoke:
        args.episodes, args.frames, args.test_episodes, args.horizon = 4, 33, 2, 24
        args.minutes, args.batch, args.tf_stride, args.sample_steps = 0.2, 4, 8, 2
    work, out = Path(args.work), Path(args.out)
    if args.resume and not last_checkpoint(work).is_file():
        parser.error(
            f"--resume: no training run in --work {work} (dit/checkpoints/last.ckpt is missing); "
            "start one without --resume"
        )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "args": vars(args),
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
    }

    def dump():
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")

    stores = make_data(args, work)
    if args.eval_only:
        results.update(evaluate(args, stores, Path(args.eval_only), device))
        dump()
        log("done")
        return
    vae, vae_trained = get_vae(args, work, stores)
    results["vae"] = {"path": str(vae), "trained_here": vae_trained}
    if vae_trained:  # keep the whole command inside one device call
        args.minutes = max(0.2, args.minutes - args.vae_minutes)
    caches = encode_all(args, work, stores, vae)
    start = time.perf_counter()
    ckpt = train_dit(args, work, caches)
    last = torch.load(last_checkpoint(work), map_location="cpu", weights_only=False)
    results["training"] = {
        "steps": int(last["global_step"]),
        "seconds": time.perf_counter() - start,
        "caches": {k: str(v) for k, v in caches.items()},
    }
    log(f"trained: {results['training']}")
    dump()
    if args.train_only:
        log("done (training only: continue with --resume)")
        return
    results["checkpoint_files"] = save_checkpoint(args, ckpt, vae, vae_trained)
    dump()
    results.update(evaluate(args, stores, ckpt, device))
    dump()
    if args.bench:
        results["benchmark"] = benchmark(args, ckpt, device)
        dump()
    log("done")


if __name__ == "__main__":
    main()
