"""`worldsim pipeline FILE.yaml`: run an experiment's stages in order, reusing finished ones.

A stage is one `worldsim` job with its arguments, as on the job's command line; later stages
name earlier outputs by interpolation (`${stages.vae.out}/vae.ckpt`, `${out}`, `${vars.NAME}`).
`device=cuda` appends each stage's `cuda` arguments, `device=cpu` its `cpu` ones. Each finished
stage's resolved job config is recorded in `<out>/stages/<name>.json`. A rerun reuses a stage
whose output exists and whose record matches; reruns it when a stage it reads from ran again; and
refuses, before any work, one whose output was made by another config unless `overwrite=true`.

The jobs that write a directory (record, encode, train-vae, train) keep the same record in it
(`<their out>/stages/<job>.json`, through `claim_output`), so run by hand they refuse the same
clash; a rerun stage gets `overwrite=true` from here when its output is stale.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from worldsim.config import ConfigError, load_config, to_object
from worldsim.data.manifest import (
    MANIFEST,
    article,
    kind_of,
    read_record,
    record_path,
    write_record,
)
from worldsim.jobs import job_module

DEVICES = ("cpu", "cuda")


@dataclass
class Stage:
    """One step: a worldsim job, where it writes, and its arguments."""

    job: str = ""  # a `worldsim` job name, e.g. record, train-vae, encode, train, sample, eval
    out: str = ""  # the job's `out=`; later stages refer to it as ${stages.NAME.out}
    # config files, group=name, key=value; a list in it (e.g. "${vars.NAME}") is spliced in
    args: list[Any] = field(default_factory=list)
    cpu: list[Any] = field(default_factory=list)  # appended to args when device=cpu
    cuda: list[Any] = field(default_factory=list)  # appended to args when device=cuda
    enabled: bool = True  # false: leave the stage out of this run


@dataclass
class Config:
    """A pipeline: named stages run in order under one output root."""

    out: str = "runs/pipeline"  # the root that stage outputs are named under (${out})
    device: str = "cpu"  # cpu | cuda: which per-device arguments each stage gets
    overwrite: bool = False  # rerun a stage whose output was made by another config
    vars: dict[str, Any] = field(default_factory=dict)  # values the stages share (${vars.NAME})
    stages: dict[str, Stage] = field(default_factory=dict)  # name -> Stage, run in order


def stage_args(stage: Stage, device: str) -> list[str]:
    """The job's command-line arguments on `device`: `out=`, then args, then the device's own."""
    if device not in DEVICES:
        raise ConfigError(f"device='{device}' must be one of {', '.join(DEVICES)}")
    given = [*stage.args, *(stage.cuda if device == "cuda" else stage.cpu)]
    return [f"out={stage.out}", *(str(a) for arg in given for a in _listed(arg))]


def _listed(arg: Any) -> list:
    return list(arg) if isinstance(arg, (list, tuple)) else [arg]


def as_stored(cfg: Any) -> dict:
    """A job config (DictConfig or dataclass) as its record stores it (JSON: tuples are lists)."""
    tree = cfg if isinstance(cfg, DictConfig) else OmegaConf.structured(cfg)
    return json.loads(json.dumps(OmegaConf.to_container(tree)))


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted key: leaf} of nested dicts."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}


def with_defaults(recorded: dict, defaults: dict) -> dict:
    """A recorded config in today's schema: a knob added since takes its default, a removed one
    is dropped; free-form dicts (empty by default, e.g. env.kwargs) are kept whole."""
    return {
        key: with_defaults(recorded.get(key, {}), value)
        if isinstance(value, dict) and value and isinstance(recorded.get(key, {}), dict)
        else recorded.get(key, value)
        for key, value in defaults.items()
    }


def difference(old: dict, new: dict, free: tuple[str, ...] = ()) -> str:
    """The first few keys where two resolved configs differ, as `key: old -> new` ("" where they
    agree); keys under `free` may differ."""
    a, b = _flat(old), _flat(new)
    keys = [
        k.rstrip(".")
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k) and not k.startswith(tuple(f"{f}." for f in free))
    ]
    shown = [f"{k}: {a.get(k + '.')} -> {b.get(k + '.')}" for k in keys[:3]]
    return "; ".join(shown) + (f"; and {len(keys) - 3} more" if len(keys) > 3 else "")


def claim_output(
    job: str,
    cfg: Any,
    free: tuple[str, ...],
    inputs: dict[str, Any] | None = None,
    episodes: int | None = None,
) -> bool:
    """Before job `job` writes `cfg.out`: refuse (ConfigError naming both configs) when another
    config made it, unless `cfg.overwrite`; then record `cfg` in it. Keys under `free` may change
    between runs into one output (episodes to add, steps to train on, workers). `inputs`:
    fingerprints of what the job reads (e.g. a checkpoint's sha256), compared like the config;
    `episodes`: how many the output holds when done (readers name a partial one).
    Returns whether the output holds another config's work, which the caller then clears."""
    record, config, inputs = record_path(cfg.out, job), as_stored(cfg), inputs or {}
    made = read_record(record)
    clashes = [
        difference(with_defaults(made.get("config", config), as_stored(type(cfg)())), config, free),
        difference(made.get("inputs", inputs), inputs),
    ]
    clash = "; ".join(c for c in clashes if c)
    if clash and not cfg.overwrite:
        raise ConfigError(
            f"{cfg.out} was made by another {job} config (recorded in {record}): {clash}; pass "
            "overwrite=true to replace it, or choose another out="
        )
    done = {} if episodes is None else {"episodes": episodes}
    write_record(record, job, config, inputs=inputs, **done)
    return bool(clash)


def refuse_data_dir(
    job: str, path: str, key: str = "out", writes: str = "checkpoints and logs"
) -> None:
    """Before job `job` writes its own files (`writes`) into `path` (its `key`=): refuse an
    episode store or latent cache there, which the files would mix into."""
    listed = (Path(path) / MANIFEST).is_file()
    what = kind_of(path) or ("episode store or latent cache" if listed else None)
    if what:
        raise ConfigError(
            f"{key}={path} is {article(what)}; {job} writes {writes} there: give it a folder of "
            "its own"
        )


def _refuse_unknown_stages(stages: dict[str, Stage]) -> None:
    """An override of a stage the file lacks (`stages.vea.enabled=false`, a typo) makes a stage
    of its own with no job, and would leave the meant one as it was: refuse it, naming the
    stages there are. A stage given whole on the command line (its job) is one like the others."""
    unknown = [name for name, stage in stages.items() if not stage.job]
    if unknown:
        known = [name for name in stages if name not in unknown]
        raise ConfigError(
            f"no stage '{unknown[0]}' in this pipeline; its stages: {', '.join(known) or 'none'} "
            f"(or define it whole: stages.{unknown[0]}.job=... stages.{unknown[0]}.out=...)"
        )


class Runner:
    """Runs stages in order; each is skipped when its output was made by the same config."""

    def __init__(self, records: Path, device: str, overwrite: bool = False, name: str = "pipeline"):
        self.records = records  # one <stage name>.json per finished stage
        self.device, self.overwrite, self.name = device, overwrite, name
        self.timings: dict[str, float] = {}  # seconds of each stage run (not reused) here

    def plan(self, stages: dict[str, Stage]) -> list[tuple[str, Stage, Any, Any]]:
        """(name, stage, job module, job config) of each enabled stage; checks its record."""
        _refuse_unknown_stages(stages)
        planned = []
        for name, stage in stages.items():
            if not stage.enabled:
                continue
            if not stage.job or not stage.out:
                raise ConfigError(
                    f"stage '{name}' needs job= and out= (a worldsim job, its output)"
                )
            module = job_module(stage.job)
            cfg = load_config(module.Config, stage_args(stage, self.device))
            resolved = as_stored(cfg)
            record = self.records / f"{name}.json"
            made_by = read_record(record).get("config")
            if made_by is not None and Path(stage.out).exists() and not self.overwrite:
                made_by = with_defaults(made_by, as_stored(module.Config()))
                # knobs the job may change in place (more steps, episodes) rerun it, not refuse it
                if clash := difference(made_by, resolved, getattr(module, "FREE", ())):
                    raise ConfigError(
                        f"stage '{name}': {stage.out} was made by the config in {record}, not this "
                        f"one ({clash}); pass overwrite=true to redo it or choose another out="
                    )
            planned.append((name, stage, module, cfg))
        return planned

    def run(self, stages: dict[str, Stage]) -> None:
        """Plan (failing before any work on a config clash), then run or reuse each stage."""
        planned = self.plan(stages)
        # before the first stage: a quickstart cut off in it finds its records folder, and resumes
        self.records.mkdir(parents=True, exist_ok=True)
        ran: list[str] = []  # outputs written in this run: stages reading them must rerun too
        for i, (name, stage, module, cfg) in enumerate(planned, 1):
            record, tag = self.records / f"{name}.json", f"{self.name}: [{i}/{len(planned)}] {name}"
            resolved = as_stored(cfg)
            reads_new = any(out in json.dumps(resolved) for out in ran if out != stage.out)
            made_by = read_record(record).get("config")
            if made_by is not None and Path(stage.out).exists() and not reads_new:
                if not difference(with_defaults(made_by, as_stored(module.Config())), resolved):
                    print(f"{tag}: done in a previous run, reusing it", flush=True)
                    continue
            args = " ".join(stage_args(stage, self.device))
            gap = "\n" if i > 1 else ""  # a blank line between stages, none before the first
            print(f"{gap}{tag}: started (worldsim {stage.job} {args})", flush=True)
            start = time.perf_counter()
            job_cfg = to_object(cfg)
            if hasattr(job_cfg, "overwrite"):  # its output is stale: redo, not resume, it
                job_cfg.overwrite = self.overwrite or reads_new or job_cfg.overwrite
            module.run(job_cfg)
            self.timings[name] = time.perf_counter() - start
            print(f"{tag}: finished in {self.timings[name]:.1f} s", flush=True)
            ran.append(stage.out)
            write_record(record, stage.job, resolved, seconds=self.timings[name])


def run(cfg: Config) -> None:
    if not cfg.stages:
        raise ConfigError("the pipeline has no stages; pass an experiment YAML with `stages:`")
    runner = Runner(Path(cfg.out) / "stages", cfg.device, cfg.overwrite)
    runner.run(cfg.stages)
    total = sum(runner.timings.values())
    print(f"pipeline: finished {len(cfg.stages)} stages, {total / 60:.1f} min of new work")
