"""`worldsim quickstart`: the whole harness end to end at a small size.

Rollouts -> autoencoder -> latent cache -> DiT -> samples in several modes -> every eval suite with
its baselines -> `<out>/report.html` and a summary table. Each stage is the real job (`worldsim
rollout`, `train-vae`, ...) run with the overrides below on top of that job's own defaults, so
`worldsim config show quickstart` shows exactly what the quickstart changes. A stage that finished
with the same config is skipped on a rerun (its record lies in `<out>/stages/`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from worldsim.config import ConfigError, load_config, to_object


@dataclass
class Stages:
    """Per-stage `key=value` overrides of each job's own config, for one device class."""

    rollout: list[str] = field(default_factory=list)
    train_vae: list[str] = field(default_factory=list)
    encode: list[str] = field(default_factory=list)
    train: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    eval: list[str] = field(default_factory=list)
    modes: list[str] = field(
        default_factory=lambda: ["rollout", "extend_forward", "text", "interpolate"]
    )


def _cpu() -> Stages:
    # Sized for <= 10 minutes on 2 CPU cores (timed in benchmarks/results/quickstart_cpu.json).
    return Stages(
        rollout=["episodes=24", "steps=33", "env.width=32", "env.height=32", "workers=2"],
        train_vae=[
            "model.base_channels=32",
            "model.channel_mult=[1,2,2]",
            "model.latent_channels=8",
            "model.norm_groups=8",
            "loss.perceptual=none",
            "data.clips.lengths=[9]",
            "data.batch_size=4",
            "trainer.precision=32-true",
            "trainer.max_steps=3000",
            "trainer.max_minutes=2.0",
            "trainer.val_every_steps=400",
            "trainer.limit_val_batches=2",
            "eval_episodes=4",
        ],
        encode=[],
        train=[
            "model.dim=128",
            "model.depth=4",
            "model.heads=4",
            "data.lengths=[5]",
            "data.batch_size=8",
            "train.precision=32-true",
            "train.max_steps=4000",
            "train.max_minutes=2.5",
            "train.val_every=500",
            "train.limit_val_batches=2",
            "train.sample_videos=false",
            "train.ckpt_every=500",
        ],
        sample=["frames=16", "sampler.steps=12", "height=32", "width=32"],
        eval=[
            "episodes=4",
            "env.width=32",
            "env.height=32",
            "sampling.steps=12",
            "idm_episodes=24",
            "idm_train.steps=200",
        ],
    )


def _cuda() -> Stages:
    return Stages(
        rollout=["episodes=256", "steps=65", "env.width=64", "env.height=64", "workers=8"],
        train_vae=[
            "loss.perceptual=none",
            "data.batch_size=16",
            "trainer.max_minutes=10",
            "trainer.val_every_steps=1000",
        ],
        encode=["device=cuda"],
        train=[
            "model.dim=384",
            "model.depth=12",
            "model.heads=6",
            "data.lengths=[8]",
            "data.batch_size=32",
            "train.max_minutes=20",
        ],
        sample=["frames=64", "device=cuda"],
        eval=["episodes=16", "device=cuda"],
        modes=[
            "rollout",
            "extend_forward",
            "extend_backward",
            "text",
            "image_to_video",
            "interpolate",
            "loop",
            "edit",
            "image",
        ],
    )


@dataclass
class Config:
    """Quickstart: where, on what device, which env, and the per-device stage overrides."""

    out: str = "runs/quickstart"
    device: str = "cpu"  # cpu | cuda: picks the `cpu` or `cuda` stage sizes
    env: str = "orbit"  # a configs/env/<name>.yaml; Orbit has camera motion and actions, so every suite applies
    cpu: Stages = field(default_factory=_cpu)
    cuda: Stages = field(default_factory=_cuda)


class Pipeline:
    """Runs stages in order, skipping those already finished with the same config."""

    def __init__(self, out: Path):
        self.records = out / "stages"
        self.records.mkdir(parents=True, exist_ok=True)
        self.timings: dict[str, float] = {}

    def stage(self, name: str, job: str, args: list[str]) -> None:
        """Run job `job` with `args` unless a previous run finished it with the same resolved config."""
        from worldsim.cli import job_module

        module = job_module(job)
        cfg = load_config(module.Config, args)
        resolved = json.loads(
            json.dumps(OmegaConf.to_container(cfg))
        )  # as stored: tuples become lists
        record = self.records / f"{name}.json"
        if record.is_file() and json.loads(record.read_text())["config"] == resolved:
            print(f"quickstart: {name}: done in a previous run, reusing it")
            return
        print(f"\nquickstart: {name} (worldsim {job} {' '.join(args)})", flush=True)
        start = time.perf_counter()
        module.run(to_object(cfg))
        self.timings[name] = time.perf_counter() - start
        tmp = record.with_suffix(".tmp")
        tmp.write_text(json.dumps({"config": resolved, "seconds": self.timings[name]}, indent=2))
        tmp.replace(record)


def _summary(report: dict[str, Any]) -> str:
    """A text table of report.json: one row per model or baseline, one column per suite's primary metric."""
    suites = report["suites"]
    if not suites:
        return "(no suite ran)"
    header = ["row", *(f"{name} ({res['primary']})" for name, res in suites.items())]
    table = [header] + [
        [row, *(_cell(res["rows"][row]["metrics"].get(res["primary"])) for res in suites.values())]
        for row in next(iter(suites.values()))["rows"]
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table)


def _cell(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def run(cfg: Config) -> None:
    if cfg.device not in ("cpu", "cuda"):
        raise ConfigError(f"device='{cfg.device}' must be cpu or cuda")
    sizes = cfg.cuda if cfg.device == "cuda" else cfg.cpu
    out = Path(cfg.out)
    episodes, vae, latents, world = (
        out / "data" / "episodes",
        out / "vae",
        out / "data" / "latents",
        out / "world_model",
    )
    ckpt = world / "ema.ckpt"
    accelerator = "gpu" if cfg.device == "cuda" else "cpu"
    pipeline = Pipeline(out)
    run_stage = pipeline.stage

    run_stage("rollout", "rollout", [f"env={cfg.env}", f"out={episodes}", *sizes.rollout])
    run_stage(
        "train-vae",
        "train-vae",
        [
            f"data.root={episodes}",
            f"out={vae}",
            f"trainer.accelerator={accelerator}",
            *sizes.train_vae,
        ],
    )
    run_stage(
        "encode",
        "encode",
        [f"store={episodes}", f"checkpoint={vae / 'vae.ckpt'}", f"out={latents}", *sizes.encode],
    )
    run_stage(
        "train",
        "train",
        [
            f"data.roots=[{latents}]",
            f"out={world}",
            f"train.accelerator={accelerator}",
            *sizes.train,
        ],
    )
    for mode in sizes.modes:
        second = [f"input2={episodes}", "episode=ep_000001"] if mode == "interpolate" else []
        run_stage(
            f"sample-{mode}",
            "sample",
            [
                f"ckpt={ckpt}",
                f"mode={mode}",
                f"input={episodes}",
                f"out={out / 'samples'}",
                *second,
                *sizes.sample,
            ],
        )
    run_stage(
        "eval",
        "eval",
        [
            "suite=all",
            f"model={ckpt}",
            f"env={cfg.env}",
            f"out={out}",
            f"cache={out / 'data' / 'eval_scenarios'}",
            *sizes.eval,
        ],
    )

    report = json.loads((out / "report.json").read_text())
    print(f"\n{_summary(report)}\n")
    total = sum(pipeline.timings.values())
    print(
        f"quickstart: finished in {total / 60:.1f} min of new work; report -> {out / 'report.html'}"
    )
