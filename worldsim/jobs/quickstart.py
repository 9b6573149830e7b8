"""`worldsim quickstart`: the whole harness end to end at a small size.

Rollouts -> autoencoder -> latent cache -> DiT -> samples in several modes -> every eval suite with
its baselines -> `<out>/report.html` and a summary table. Each stage is the real job (`worldsim
rollout`, `train-vae`, ...) run with the overrides below on top of that job's own defaults, so
`worldsim config show quickstart` shows exactly what the quickstart changes. The stages run through
`worldsim pipeline`'s runner: one that finished with the same config is reused on a rerun (its
record lies in `<out>/stages/`), and one whose output was made by another config is an error
unless `overwrite=true`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.report import format_value, frame_size, ranking_label, versus_copy_last
from worldsim.config import ConfigError
from worldsim.diffusion.sampling_config import MODE_NAMES
from worldsim.jobs.pipeline import DEVICES, Runner, Stage


@dataclass
class Stages:
    """Per-stage `key=value` overrides of each job's own config, for one device class."""

    rollout: list[str] = field(default_factory=list)  # of `worldsim record`
    train_vae: list[str] = field(default_factory=list)  # of `worldsim train-vae`
    encode: list[str] = field(default_factory=list)  # of `worldsim encode`
    train: list[str] = field(default_factory=list)  # of `worldsim train`
    sample: list[str] = field(default_factory=list)  # of `worldsim sample`, for every mode
    eval: list[str] = field(default_factory=list)  # of `worldsim eval`
    modes: list[str] = field(  # sample modes, a stage each
        default_factory=lambda: ["rollout", "extend_forward", "text", "interpolate"]
    )
    # the shipped model of the env's game (`Config.shipped`), at its own resolution (64x64):
    shipped_rollout: list[str] = field(default_factory=list)  # `record`: episodes it continues
    shipped_sample: list[str] = field(default_factory=list)  # `sample` (mode=rollout) of them
    shipped_eval: list[str] = field(default_factory=list)  # `eval` of it, every suite


def _record(episodes: int, steps: int, side: int, workers: int) -> list[str]:
    """`record` overrides: `episodes` of `steps` frames at side x side pixels."""
    return [
        f"episodes={episodes}",
        f"steps={steps}",
        f"env.width={side}",
        f"env.height={side}",
        f"workers={workers}",
    ]


def _vae_training(batch_size: int, max_minutes: float, val_every_steps: int) -> list[str]:
    """`train-vae` overrides of both sizes: no LPIPS (its trunk weights may be absent), a budget."""
    return [
        "loss.perceptual=none",
        f"data.batch_size={batch_size}",
        f"trainer.max_minutes={max_minutes}",
        f"trainer.val_every_steps={val_every_steps}",
    ]


def _dit(dim: int, depth: int, heads: int, length: int, batch_size: int) -> list[str]:
    """`train` overrides: the DiT's size and its clips of `length` latent frames."""
    return [
        f"model.dim={dim}",
        f"model.depth={depth}",
        f"model.heads={heads}",
        f"data.lengths=[{length}]",
        f"data.batch_size={batch_size}",
    ]


def _eval_size(side: int, steps: int) -> list[str]:
    """`eval` overrides: 4 held-out cases at side x side pixels, `steps` denoising steps."""
    return ["episodes=4", f"env.width={side}", f"env.height={side}", f"sampling.steps={steps}"]


def _cpu() -> Stages:
    # Sized for <= 10 minutes on 2 CPU cores (timed in benchmarks/results/quickstart_cpu.json).
    return Stages(
        rollout=_record(episodes=24, steps=33, side=32, workers=2),
        train_vae=[
            "model.base_channels=32",
            "model.channel_mult=[1,2,2]",
            "model.latent_channels=8",
            "model.norm_groups=8",
            "data.clips.lengths=[9]",
            *_vae_training(batch_size=4, max_minutes=2.0, val_every_steps=400),
            "trainer.precision=32-true",
            "trainer.max_steps=3000",
            "trainer.limit_val_batches=2",
            "eval_episodes=4",
        ],
        encode=[],
        train=[
            *_dit(dim=128, depth=4, heads=4, length=5, batch_size=8),
            "train.precision=32-true",
            "train.max_steps=4000",
            "train.max_minutes=2.5",
            "train.val_every=500",
            "train.limit_val_batches=2",
            "train.sample_videos=false",
            "train.ckpt_every=500",
        ],
        sample=["frames=16", "sampler.steps=12", "height=32", "width=32"],
        eval=[*_eval_size(side=32, steps=12), "idm_episodes=24", "idm_train.steps=200"],
        shipped_rollout=_record(episodes=2, steps=33, side=64, workers=2),
        # 5 context + 28 new = the 33 recorded frames: every new frame has its recorded action
        shipped_sample=["frames=28", "sampler.steps=10"],
        shipped_eval=[*_eval_size(side=64, steps=10), "idm_episodes=24", "idm_train.steps=200"],
    )


def _cuda() -> Stages:
    return Stages(
        rollout=_record(episodes=256, steps=65, side=64, workers=8),
        train_vae=_vae_training(batch_size=16, max_minutes=10, val_every_steps=1000),
        encode=["device=cuda"],
        train=[*_dit(dim=384, depth=12, heads=6, length=8, batch_size=32), "train.max_minutes=20"],
        sample=["frames=60", "device=cuda"],  # 5 + 60 = the 65 recorded frames
        eval=["episodes=16", "device=cuda"],
        modes=list(MODE_NAMES),
        shipped_rollout=_record(episodes=4, steps=65, side=64, workers=8),
        shipped_sample=["frames=60", "device=cuda"],
        shipped_eval=["episodes=16", "env.width=64", "env.height=64", "device=cuda"],
    )


OUT = "runs/quickstart"  # the default out=
# the shipped model of each game: MuJoCo scenes, Crafter and ViZDoom env names (configs/env/)
SHIPPED = {"mujoco": ("bounce", "collide", "occlude", "orbit", "push"), "crafter": ("crafter",)}


def shipped_model(env: str) -> str:
    """`pretrained:NAME` trained on `env`'s game at 64x64 ("" if none is shipped)."""
    for name, prefixes in SHIPPED.items():
        if env.startswith(prefixes):
            return f"pretrained:{name}"
    return ""


@dataclass
class Config:
    """Quickstart: where, on what device, which env, and the per-device stage overrides."""

    out: str = OUT  # every stage writes under it; report.html lies here
    device: str = "cpu"  # cpu | cuda: picks the `cpu` or `cuda` stage sizes
    # a configs/env/<name>.yaml; Orbit has camera motion and actions, so every suite applies
    env: str = "orbit"
    cpu: Stages = field(default_factory=_cpu)
    cuda: Stages = field(default_factory=_cuda)
    overwrite: bool = False  # redo a stage whose output was made by another config
    # also sample and evaluate the shipped model trained on this env's game: auto = the one
    # `SHIPPED` names (pretrained:mujoco for the MuJoCo scenes), "" = none, or a checkpoint
    shipped: str = "auto"


def _shipped(cfg: Config) -> str:
    """The checkpoint the shipped stages sample and score ("" = none)."""
    return shipped_model(cfg.env) if cfg.shipped == "auto" else cfg.shipped


def _summary(report: dict[str, Any]) -> str:
    """report.json as a terminal table, as report.html shows it: what was scored, a row per model
    or baseline, a column per suite's primary metric (↑ higher is better, ↓ lower), then each
    suite's baseline ranking check (n/a where a baseline's metric is undefined) and the suites on
    which the model beats copy-last; the notes come once for all reports (`_notes`)."""
    suites, scenario = report["suites"], report["scenario"]
    if not suites:
        return "(no suite ran)"
    arrow = {True: "↑", False: "↓"}
    header = [
        ["row", *suites],
        ["", *(f"{res['primary']} {arrow[res['higher_is_better']]}" for res in suites.values())],
    ]
    rows = [
        [
            row,
            *(
                format_value(res["rows"][row]["metrics"].get(res["primary"]))
                for res in suites.values()
            ),
        ]
        for row in next(iter(suites.values()))["rows"]
    ]
    table = header + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    lines.insert(2, "  ".join("-" * w for w in widths))
    ranking = ", ".join(f"{name} {ranking_label(res)}" for name, res in suites.items())
    verdict = versus_copy_last(suites)  # the model against copy-last, suite by suite
    return "\n".join(
        [
            f"eval of {report['model']} on {scenario['env']['id']} at {frame_size(scenario)}: "
            f"{scenario['cases']} held-out cases, context {scenario['context']}, horizon "
            f"{scenario['horizon']}",
            *lines,
            f"baseline ranking noise < copy_last <= ground_truth: {ranking}",
            *([verdict] if verdict else []),
        ]
    )


def _notes(reports: list[dict[str, Any]]) -> list[str]:
    """Every suite note of the reports, each once: both evals of a quickstart note the same things
    (the 100 dB cap of identical frames, LPIPS weights absent), and a reader needs them once."""
    notes = (
        f"  {name}: {note}"
        for report in reports
        for name, res in report["suites"].items()
        for note in res.get("notes", [])
    )
    return list(dict.fromkeys(notes))


def stages(cfg: Config) -> dict[str, Stage]:
    """The quickstart as pipeline stages, sized for `cfg.device`."""
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
    plan = {
        "rollout": Stage("record", str(episodes), [f"env={cfg.env}", *sizes.rollout]),
        "train-vae": Stage(
            "train-vae",
            str(vae),
            [f"data.root={episodes}", f"trainer.accelerator={accelerator}", *sizes.train_vae],
        ),
        "encode": Stage(
            "encode",
            str(latents),
            [f"store={episodes}", f"checkpoint={vae / 'vae.ckpt'}", *sizes.encode],
        ),
        "train": Stage(
            "train",
            str(world),
            [f"data.roots=[{latents}]", f"train.accelerator={accelerator}", *sizes.train],
        ),
    }
    for mode in sizes.modes:  # interpolate: from an episode's first frames to its own last ones
        plan[f"sample-{mode}"] = Stage(
            "sample",
            str(out / "samples"),
            [f"ckpt={ckpt}", f"mode={mode}", f"input={episodes}", *sizes.sample],
        )
    plan["eval"] = _eval(cfg, str(ckpt), out, sizes.eval)
    shipped = _shipped(cfg)
    if shipped:  # a model trained for real on a GPU, beside the demonstration
        plan["shipped-rollout"] = Stage(
            "record",
            str(out / "data" / "shipped_episodes"),
            [f"env={cfg.env}", *sizes.shipped_rollout],
        )
        plan["shipped-sample"] = Stage(
            "sample",
            str(out / "shipped" / "samples"),
            [f"ckpt={shipped}", "mode=rollout", f"input={out / 'data' / 'shipped_episodes'}"]
            + sizes.shipped_sample,
        )
        plan["shipped-eval"] = _eval(cfg, shipped, out / "shipped", sizes.shipped_eval)
    return plan


def _eval(cfg: Config, model: str, out: Path, sizes: list[str]) -> Stage:
    """Every suite on `model`, beside the baselines, into `out`/report.html."""
    return Stage(
        "eval",
        str(out),
        [
            "suite=all",
            f"model={model}",
            f"env={cfg.env}",
            f"cache={Path(cfg.out) / 'data' / 'eval_scenarios'}",
            *sizes,
        ],
    )


def _check_shipped(cfg: Config) -> None:
    """A `shipped=` model that cannot load is refused before the first stage, not after them."""
    from worldsim.models.checkpoint import CheckpointError
    from worldsim.models.pretrained import resolve_checkpoint

    spec = _shipped(cfg)
    try:
        if spec and not Path(resolve_checkpoint(spec)).is_file():
            raise FileNotFoundError(f"no checkpoint at {spec}")
    except (FileNotFoundError, CheckpointError) as err:
        raise ConfigError(f"shipped={cfg.shipped}: {err}; or shipped='' to leave it out") from err


def _check_out(out: Path) -> None:
    """The quickstart writes a dozen folders under out=: a folder holding anything but an earlier
    quickstart's (its stages/ records), such as a repository's root, is refused before any work
    (out= a file is refused with every job's out=, by load_config)."""
    if out.is_dir() and any(out.iterdir()) and not (out / "stages").is_dir():
        raise ConfigError(
            f"out={out} holds files no quickstart wrote (it has no stages/ folder); give a new "
            f"or empty folder, e.g. out={OUT}"
        )


def run(cfg: Config) -> None:
    if cfg.device not in DEVICES:
        raise ConfigError(f"device='{cfg.device}' must be cpu or cuda")
    _check_out(Path(cfg.out))
    _check_shipped(cfg)
    runner = Runner(Path(cfg.out) / "stages", cfg.device, cfg.overwrite, name="quickstart")
    runner.run(stages(cfg))
    out = Path(cfg.out)
    # what each report is of: a first-time reader took the demonstration's blur for the harness's
    labels = {out: "the demonstration model, trained here for minutes (blurry by design):"}
    if shipped := _shipped(cfg):
        labels[out / "shipped"] = f"the shipped model {shipped}, trained on a GPU:"
    reports = [json.loads((where / "report.json").read_text()) for where in labels]
    for label, report in zip(labels.values(), reports):
        print(f"\n{label}\n{_summary(report)}")
    if notes := _notes(reports):
        print("\nnotes:", *notes, sep="\n")
    total = sum(runner.timings.values())
    # in the order the stages wrote them
    strips = [p for where in labels for p in (where / "samples").glob("*.png")]
    strips.sort(key=lambda p: p.stat().st_mtime)
    print(
        f"\nquickstart: finished in {total / 60:.1f} min of new work; reports -> "
        + ", ".join(str(where / "report.html") for where in labels)
        + f"; frame strips of the samples -> {', '.join(map(str, strips))}"
    )
