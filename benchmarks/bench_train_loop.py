"""Training-loop overhead: seconds per step of the whole `worldsim train` loop (data, Lightning,
EMA, logging, gradient clipping) against the bare model step (loss, backward, AdamW) on the same
module and batch.

    python -m benchmarks.bench_train_loop --cache DATA/latents --steps 30 130 \
        --name train_loop_dit_b_h200 -- model=dit_b data.batch_size=128 train.compile=true
    python -m benchmarks.bench_train_loop --synthetic 256 --steps 30 130 \
        --name train_loop_dit_b_h200 -- model=dit_b data.batch_size=128 train.compile=true
    python -m benchmarks.bench_train_loop --smoke   # tiny model and cache on the CPU, seconds

--synthetic N trains on N random episodes of the shapes of the issue's video config (33 latent
frames of 16 channels at 16x16, 17 action values a frame), written to the scratch folder: no
recording or encoding on the device. The loop's cost does not depend on what the latents hold.

The loop's time per step is the difference of two whole runs of `--steps` A and B steps divided by
B - A, so start-up, compilation and the final export cancel: an untimed run first pays what the
process keeps for later runs (CUDA's start, imports, torch.compile's caches). Arguments after `--`
are `worldsim train` overrides (both measurements use them). Target (issue 18): overhead <= 10 %.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from benchmarks.record import output_arguments, record
from worldsim.config import load_config, to_object
from worldsim.jobs import train

QUIET = ("train.sample_videos=false", "logger=csv", "text.name=none")


def train_overrides(cache: str, out: str, steps: int, overrides: list[str]) -> list[str]:
    """`worldsim train` overrides of one timed run of `steps` steps on `cache`, writing to `out`."""
    never = 10**9  # no validation or periodic checkpoint inside the timed steps
    fixed = [f"data.roots=[{cache}]", f"out={out}", f"train.max_steps={steps}", *QUIET]
    fixed += [f"train.val_every={never}", f"train.ckpt_every={never}"]
    return [*fixed, *overrides]


def _config(cache: str, out: str, steps: int, overrides: list[str]) -> train.Config:
    return to_object(load_config(train.Config, train_overrides(cache, out, steps, overrides)))


def first_batch(cache: str, overrides: list[str]) -> tuple[train.Config, dict]:
    """The run's config and the first training batch of its data loader (on the CPU)."""
    from worldsim.data.latent_datamodule import LatentDataModule

    with tempfile.TemporaryDirectory() as out:
        cfg = _config(cache, out, 1, overrides)
    data = LatentDataModule(cfg.data)
    data.setup("fit")
    return cfg, next(iter(data.train_dataloader()))


def timed_runs(run, steps: tuple[int, int], warm_up: bool) -> dict:
    """Seconds per step from the wall seconds `run(n)` of two runs of A and B steps: their
    difference over B - A. With `warm_up`, an untimed run of A steps first fills torch.compile's
    caches, so both timed runs read them warm (else the first compiles cold and the second reads
    its caches: the difference would be negative)."""
    if warm_up:
        run(steps[0])
    walls = [run(n) for n in steps]
    return {
        "runs_s": dict(zip(steps, walls)),
        "step_s": (walls[1] - walls[0]) / (steps[1] - steps[0]),
    }


def loop_seconds(cache: str, steps: tuple[int, int], overrides: list[str]) -> dict:
    """Seconds per step of `worldsim train`, from two runs of different length in this process,
    after an untimed one: the first run pays what the process keeps (CUDA's start, imports,
    torch.compile's caches)."""

    def run(n: int) -> float:
        with tempfile.TemporaryDirectory() as out:
            began = time.perf_counter()
            train.run(_config(cache, out, n, overrides))
            return time.perf_counter() - began

    return timed_runs(run, steps, warm_up=True)


def model_seconds(cache: str, steps: int, overrides: list[str], device: str) -> dict:
    """Seconds per bare training step (bf16 autocast on CUDA) on one batch of the data (read
    through the loader: a resident one yields window ids, not latents)."""
    cfg, batch = first_batch(cache, [*overrides, "data.resident=false"])
    module = train.build_module(cfg).to(device).train()
    train.compile_dit(module, cfg.train)
    batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    opt = module.optimizer()
    bf16 = device.startswith("cuda") and cfg.train.precision.startswith("bf16")

    def step():
        with torch.autocast(device.split(":")[0], torch.bfloat16, enabled=bf16):
            loss = module.loss(batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):  # warm-up and compilation
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    began = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return {"step_s": (time.perf_counter() - began) / steps, "batch": batch["latents"].shape[0]}


# --smoke: a tiny model on the CPU in float32
SMOKE = ["model.dim=32", "model.depth=1", "model.heads=4", "data.lengths=[3]"]
SMOKE += ["data.batch_size=2", "train.precision=32-true", "train.accelerator=cpu"]


SYNTHETIC = {"frames": 33, "channels": 16, "size": 16, "actions": 17}  # per episode


def synthetic_cache(folder: Path, episodes: int) -> str:
    """A latent cache of `episodes` random episodes shaped as `SYNTHETIC` (no VAE behind it)."""
    import numpy as np

    from worldsim.data.latent_cache import LatentCache, write_latent_episode

    cache, tf, shape = LatentCache(folder, create=True), 4, SYNTHETIC
    cache.set_autoencoder_info({"checkpoint": "none", "time_factor": tf, "space_factor": 4,
                                "latent_channels": shape["channels"]})  # fmt: skip
    rng, doc = np.random.default_rng(0), {"captions": {"windows": []}, "meta": {"fps": 15}}
    latents = (shape["frames"], shape["channels"], shape["size"], shape["size"])  # (T', c, h, w)
    actions = (1 + tf * (shape["frames"] - 1), shape["actions"])  # (T, A) one row a pixel frame
    cache.add([
        write_latent_episode(folder, f"ep_{k:06d}", rng.standard_normal(latents),
                             rng.standard_normal(actions), doc, tf)
        for k in range(episodes)
    ])  # fmt: skip
    return str(folder)


def smoke_cache(folder: Path) -> str:
    """A tiny latent cache (8 episodes: enough for two ranks) and VAE (the test suite's builders)
    for --smoke."""
    from tests.test_world_model import tiny_vae, write_cache

    return write_cache(folder / "latents", tiny_vae(folder / "vae.ckpt"), episodes=8)


@contextlib.contextmanager
def scratch(args: argparse.Namespace, *smoke: str) -> Iterator[Path]:
    """A scratch folder for the benchmark's runs. Under --smoke it also holds the tiny cache that
    replaces --cache, with runs of 2 and 4 steps and the SMOKE overrides plus `smoke`; under
    --synthetic N, the random cache that replaces --cache."""
    with tempfile.TemporaryDirectory() as folder:
        if args.smoke:
            args.cache, args.steps = smoke_cache(Path(folder)), [2, 4]
            args.overrides += [*SMOKE, *smoke]
        elif args.synthetic:
            args.cache = synthetic_cache(Path(folder) / "latents", args.synthetic)
        yield Path(folder)


def train_arguments(doc: str, steps: list[int], steps_help: str, smoke: str) -> argparse.Namespace:
    """Command line of a benchmark that runs `worldsim train`: the cache, two step counts, the
    output arguments and the train overrides after `--`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--cache", default="data/latents", help="latent cache to train on")
    parser.add_argument("--steps", type=int, nargs=2, default=steps, help=steps_help)
    parser.add_argument("--synthetic", type=int, default=0, help="train on N random episodes")
    output_arguments(parser, smoke=smoke)
    parser.add_argument("overrides", nargs="*", help="`worldsim train` overrides (after --)")
    return parser.parse_args()


def main() -> None:
    args = train_arguments(__doc__, [30, 130], "two run lengths", "tiny model and cache, CPU")
    with scratch(args, "train.log_every=1"):
        loop = loop_seconds(args.cache, tuple(args.steps), args.overrides)
        model = model_seconds(
            args.cache, args.steps[1] - args.steps[0], args.overrides, args.device
        )
    figures = {
        "config": {k: str(v) for k, v in vars(args).items()},
        "loop_step_s": loop["step_s"],
        "model_step_s": model["step_s"],
        "overhead": loop["step_s"] / model["step_s"] - 1,
        "loop_runs_s": loop["runs_s"],
        "batch": model["batch"],
    }
    record(args.name or f"train_loop_{args.device}", figures, args.results)


if __name__ == "__main__":
    main()
