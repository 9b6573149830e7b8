"""`worldsim pipeline FILE.yaml`: run an experiment's stages in order, reusing finished ones.

A stage is one `worldsim` job with its arguments, as on the job's command line; later stages
name earlier outputs by interpolation (`${stages.vae.out}/vae.ckpt`, `${out}`, `${vars.NAME}`).
`device=cuda` appends each stage's `cuda` arguments, `device=cpu` its `cpu` ones. Each finished
stage's resolved job config is recorded in `<out>/stages/<name>.json`. A rerun reuses a stage
whose output exists and whose record matches; reruns it when a stage it reads from ran again; and
refuses, before any work, one whose output was made by another config unless `overwrite=true`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from worldsim.config import ConfigError, load_config, to_object
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
    stages: dict[str, Stage] = field(default_factory=dict)


def stage_args(stage: Stage, device: str) -> list[str]:
    """The job's command-line arguments on `device`: `out=`, then args, then the device's own."""
    if device not in DEVICES:
        raise ConfigError(f"device='{device}' must be one of {', '.join(DEVICES)}")
    given = [*stage.args, *(stage.cuda if device == "cuda" else stage.cpu)]
    return [f"out={stage.out}", *(str(a) for arg in given for a in _listed(arg))]


def _listed(arg: Any) -> list:
    return list(arg) if isinstance(arg, (list, tuple)) else [arg]


def _as_stored(cfg: Any) -> dict:
    """A job config as its record stores it (JSON: tuples become lists)."""
    return json.loads(json.dumps(OmegaConf.to_container(cfg)))


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted key: leaf} of nested dicts."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}


def _difference(old: dict, new: dict) -> str:
    """The first few keys where two resolved configs differ, as `key: old -> new`."""
    a, b = _flat(old), _flat(new)
    keys = [k.rstrip(".") for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
    shown = [f"{k}: {a.get(k + '.', a.get(k))} -> {b.get(k + '.', b.get(k))}" for k in keys[:3]]
    return "; ".join(shown) + (f"; and {len(keys) - 3} more" if len(keys) > 3 else "")


class Runner:
    """Runs stages in order; each is skipped when its output was made by the same config."""

    def __init__(self, records: Path, device: str, overwrite: bool = False, name: str = "pipeline"):
        self.records = records  # one <stage name>.json per finished stage
        self.device, self.overwrite, self.name = device, overwrite, name
        self.timings: dict[str, float] = {}  # seconds of each stage run (not reused) here

    def plan(self, stages: dict[str, Stage]) -> list[tuple[str, Stage, Any, Any]]:
        """(name, stage, job module, job config) of each enabled stage; checks its record."""
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
            resolved = _as_stored(cfg)
            record = self.records / f"{name}.json"
            if record.is_file() and Path(stage.out).exists() and not self.overwrite:
                made_by = json.loads(record.read_text())["config"]
                if made_by != resolved:
                    raise ConfigError(
                        f"stage '{name}': {stage.out} was made by the config in {record}, not this "
                        f"one ({_difference(made_by, resolved)}); pass overwrite=true to redo it "
                        "or choose another out="
                    )
            planned.append((name, stage, module, cfg))
        return planned

    def run(self, stages: dict[str, Stage]) -> None:
        """Plan (failing before any work on a config clash), then run or reuse each stage."""
        planned = self.plan(stages)
        ran: list[str] = []  # outputs written in this run: stages reading them must rerun too
        for i, (name, stage, module, cfg) in enumerate(planned, 1):
            record, tag = self.records / f"{name}.json", f"{self.name}: [{i}/{len(planned)}] {name}"
            resolved = _as_stored(cfg)
            reads_new = any(out in json.dumps(resolved) for out in ran if out != stage.out)
            if record.is_file() and Path(stage.out).exists() and not reads_new:
                if json.loads(record.read_text())["config"] == resolved:
                    print(f"{tag}: done in a previous run, reusing it", flush=True)
                    continue
            args = " ".join(stage_args(stage, self.device))
            print(f"\n{tag}: started (worldsim {stage.job} {args})", flush=True)
            start = time.perf_counter()
            module.run(to_object(cfg))
            self.timings[name] = time.perf_counter() - start
            print(f"{tag}: finished in {self.timings[name]:.1f} s", flush=True)
            ran.append(stage.out)
            self.records.mkdir(parents=True, exist_ok=True)
            tmp = record.with_suffix(".tmp")
            tmp.write_text(
                json.dumps(
                    {"job": stage.job, "config": resolved, "seconds": self.timings[name]}, indent=2
                )
            )
            tmp.replace(record)


def run(cfg: Config) -> None:
    if not cfg.stages:
        raise ConfigError("the pipeline has no stages; pass an experiment YAML with `stages:`")
    runner = Runner(Path(cfg.out) / "stages", cfg.device, cfg.overwrite)
    runner.run(cfg.stages)
    total = sum(runner.timings.values())
    print(f"pipeline: finished {len(cfg.stages)} stages, {total / 60:.1f} min of new work")
