"""Tasks x policies x held-out seeds in one harness: success rates with 95% intervals, per-stage
diagnostics, a side-by-side video per episode, results JSON and an HTML summary.

Policies: `prompt` (the expanded prompt), `short_prompt` (the prompt as a user types it: the
expansion ablation), `no_prompt` (the same loop with an empty prompt), `consensus` (expanded
prompt, best of N imagined futures), `likelihood` (candidate action sequences scored by how well
the expanded prompt explains their imagined futures), `likelihood_no_prompt` (its loop with an
empty prompt: a seeded random candidate), `random`, and `scripted` (the planner from exact
state, the ceiling).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from envs.make import make_env
from worldsim.control.control_config import IMAGINING, LIKELIHOOD, POLICIES, ControlConfig
from worldsim.control.episode import EpisodeResult, run_episodes
from worldsim.control.imagine import Imaginer
from worldsim.control.likelihood import LikelihoodPolicy
from worldsim.control.policies import PromptPolicy, RandomPolicy, ScriptedPolicy
from worldsim.control.prompts import expand
from worldsim.control.report import episode_video, rate, write_html
from worldsim.control.tasks import Task
from worldsim.data.manifest import read_record, write_record
from worldsim.metrics import psnr
from worldsim.progress_bar import log_now, progress_bar

# the action a crafter task cannot succeed without (read off the plans as a diagnostic)
EPISODES = "episodes"  # folder of the finished episodes' rows under a grid's out
KEY_ACTIONS = {"collect_wood": "do", "collect_drink": "do", "eat_cow": "do",
               "place_table": "place_table"}  # fmt: skip


class Harness:
    """A world model, an IDM and the loop's knobs; plays episodes of any task and policy, with a
    progress bar per cell over its env steps (`progress`)."""

    def __init__(self, module, idm, cfg: ControlConfig, progress: bool = False):
        self.module, self.idm, self.cfg, self.progress = module, idm, cfg, progress

    def policy(self, name: str, task: Task):
        """Policy `name` for episodes of `task`."""
        if name == "random":
            return RandomPolicy()
        if name == "scripted":
            return ScriptedPolicy(task)
        if name not in IMAGINING:
            raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
        expanded = name in ("consensus", "likelihood") or (name == "prompt" and self.cfg.expand)

        def prompt_of(env, seed: int) -> str:
            if name in ("no_prompt", "likelihood_no_prompt"):
                return ""
            if expanded:
                return expand(task, env, seed, self.cfg.heading, self.cfg.hits)
            return task.episode_prompt(env)

        if name in LIKELIHOOD:
            imaginer = Imaginer(self.module, self.cfg.imagine)
            return LikelihoodPolicy(
                name, imaginer, self.cfg.likelihood, prompt_of, self.cfg.execute
            )
        futures = self.cfg.futures if name == "consensus" else 1
        imagine = replace(self.cfg.imagine, futures=futures)  # every other knob as given
        select = "consensus" if name == "consensus" else "first"
        imaginer = Imaginer(self.module, imagine)
        return PromptPolicy(
            name, imaginer, self.idm, prompt_of, self.cfg.execute, select, self.cfg.full_speed
        )

    def episodes(
        self,
        task: Task,
        name: str,
        seeds: list[int],
        on_steps: Callable[[int], Any] = lambda n: None,
    ) -> list[tuple[EpisodeResult, dict | None]]:
        """Episodes on `seeds`, played in lockstep, each with its diagnostics when the policy
        imagines; `on_steps`: see `run_episodes`."""
        envs = [make_env(task.env) for _ in seeds]
        try:
            policies = [self.policy(name, task) for _ in seeds]
            results = run_episodes(envs, task, policies, seeds, self.cfg.max_steps, on_steps)
            codec = envs[0].unwrapped.action_codec
        finally:
            for env in envs:
                env.close()
        return [
            (r, diagnostics(r, self.idm, codec) if name in IMAGINING else None) for r in results
        ]


def diagnostics(result: EpisodeResult, idm, codec) -> dict[str, Any]:
    """Per-stage numbers of one imagining episode: whether the plans move and keep the scene,
    what the IDM read off them (for the likelihood planner: the actions it chose, which family
    won and how far apart its candidates scored), and how well the IDM reads the real
    transitions the episode made."""
    real = np.asarray(result.frames, np.float32)
    out: dict[str, Any] = {
        "real_change": float(np.abs(np.diff(real, axis=0)).mean()) if len(real) > 1 else 0.0,
        "imagined_change": float(np.mean([p["imagined_change"] for p in result.plans] or [0])),
    }
    if result.plans and "family" in result.plans[0]:
        out["families"] = _counts([p["family"] for p in result.plans])
        out["score_spread"] = float(
            np.mean([p["scores"]["worst"] - p["scores"]["best"] for p in result.plans])
        )
    if len(result.actions) == 0:
        return out
    # the plan against reality: PSNR of each imagined frame to the real frame it foresaw, and of
    # copying the previous real frame (a plan that keeps the scene scores near copy-last)
    pixels = torch.from_numpy(real).permute(0, 3, 1, 2)  # (T, 3, H, W) in [0, 255]
    imagined = torch.from_numpy(np.asarray(result.imagined, np.float32)).permute(0, 3, 1, 2)
    out["plan_psnr"] = float(psnr(imagined[1:], pixels[1:], 255.0).mean())
    out["copy_last_psnr"] = float(psnr(pixels[:-1], pixels[1:], 255.0).mean())
    truth = np.stack([codec.encode(a) for a in result.actions])  # (steps, A)
    read = idm.read_actions(result.frames)  # (steps, A)
    if hasattr(codec, "noop_index"):  # discrete: names and accuracy
        names = codec.names
        out["read_counts"] = _counts([names[codec.decode(r)] for p in result.plans
                                      for r in map(codec.encode, p["read"])])  # fmt: skip
        key = KEY_ACTIONS.get(result.task)
        out["plans_with_key_action"] = (
            float(np.mean([key in [names[codec.decode(codec.encode(a))] for a in p["read"]]
                           for p in result.plans])) if key and result.plans else None
        )  # fmt: skip
        out["idm_real_accuracy"] = float((read.argmax(-1) == truth.argmax(-1)).mean())
    else:
        out["read_mean"] = np.mean([a for p in result.plans for a in p["read"]], 0).tolist()
        var = ((truth - truth.mean(0)) ** 2).sum(-1).mean()
        out["idm_real_r2"] = float(1 - ((read - truth) ** 2).sum(-1).mean() / max(var, 1e-9))
    return out


def _counts(names: list[str]) -> dict[str, int]:
    return {n: names.count(n) for n in sorted(set(names))}


def run_grid(
    harness: Harness,
    tasks: list[Task],
    policies: list[str],
    seeds: list[int],
    out: str | Path,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Play every task x policy x seed; write videos/, results.json and summary.html under `out`.

    Each finished episode is kept in `out`/episodes/ (written last, atomically) with the loop's
    knobs and `source` (what else made it: checkpoints, env), and a grid run again into the same
    `out` with the same knobs and source reads it back instead of playing it: an interrupted grid
    continues where it stopped. results.json is rewritten after every cell."""
    out = Path(out)
    knobs = {k: v for k, v in asdict(harness.cfg).items() if k != "batch"}  # changes no episode
    made = json.loads(json.dumps({"control": knobs, "source": source or {}}))
    results = {
        "about": about(seeds, harness.cfg.max_steps),
        "policies": list(policies),
        "seeds": list(seeds),
        "config": made["control"],
        "cells": {},
    }
    reused = 0
    for task in tasks:
        cells = results["cells"].setdefault(task.name, {})
        for name in policies:
            rows, kept = cell_rows(harness, task, name, seeds, out, made)
            reused += kept
            cells[name] = {**rate(rows), "diagnostics": summarise(rows), "episodes": rows}
            write_results(out, results)
    write_html(out / "summary.html", results)
    if reused:  # a played episode prints its line; one read back would otherwise pass unsaid
        print(
            f"control: reused {reused} finished episode{'s' * (reused != 1)} of {out / EPISODES}"
            " (same knobs and source; another out= plays them again)"
        )
    return results


def about(seeds: list[int], max_steps: int) -> str:
    """The line that says what a results file's cells are."""
    which = (
        f"1 seed ({seeds[0]})"
        if len(seeds) == 1
        else f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]})"
    )
    return f"{which} per cell, at most {max_steps} env steps; 95% Wilson intervals"


def cell_rows(
    harness: Harness, task: Task, name: str, seeds: list[int], out: Path, made: dict
) -> tuple[list[dict[str, Any]], int]:
    """The JSON rows of a cell's episodes, in `seeds` order: each read back from `out`/episodes/
    when `made` (knobs and source) finished it before, else played (`control.batch` at a time,
    in lockstep), its video written (the first `control.videos` seeds), and kept there; and how
    many were read back."""
    paths = [out / EPISODES / f"{task.name}_{name}_{seed}.json" for seed in seeds]
    rows = {}
    for seed, path in zip(seeds, paths, strict=True):
        record = read_record(path)
        if record.get("config") == made:
            rows[seed] = record["row"]
    reused = len(rows)
    todo = [seed for seed in seeds if seed not in rows]
    bar = progress_bar(total=len(todo) * harness.cfg.max_steps, desc=f"control {task.name} {name}",
                       unit="step", disable=not (harness.progress and todo))  # fmt: skip
    with bar:
        for k in range(0, len(todo), harness.cfg.batch):
            batch = todo[k : k + harness.cfg.batch]
            played = harness.episodes(task, name, batch, bar.update)
            log_now(bar)  # the batch's steps, then its episodes' lines
            for seed, (result, diag) in zip(batch, played, strict=True):
                rows[seed] = episode_row(harness, result, diag, out, made, seeds.index(seed))
    return [rows[seed] for seed in seeds], reused


def episode_row(
    harness: Harness, result: EpisodeResult, diag: dict | None, out: Path, made: dict, k: int
) -> dict[str, Any]:
    """The JSON row of a played episode (the `k`-th seed of its cell): its video written when
    k < `control.videos`, the row kept in `out`/episodes/ (written last, atomically)."""
    from worldsim.video import write_video

    row = {**result.summary(), "diagnostics": diag}
    stem = f"{result.task}_{result.policy}_{result.seed}"
    if k < harness.cfg.videos:
        row["video"] = str(Path("videos") / f"{stem}.{harness.cfg.video}")
        write_video(out / row["video"], episode_video(result), fps=harness.cfg.fps)
    # above the cell's bar on a terminal (tqdm.write), a line of its own in a log
    tqdm.write(f"control: {result.task} {result.policy} seed {result.seed}: "
               f"success={result.success} steps={result.steps}")  # fmt: skip
    sys.stdout.flush()
    write_record(out / EPISODES / f"{stem}.json", "control", made, row=row)
    return row


def write_results(out: Path, results: dict[str, Any]) -> None:
    """`out`/results.json, atomically (a run killed while writing keeps the previous one)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".tmp-results.json-{os.getpid()}"
    tmp.write_text(json.dumps(results, indent=1))
    os.replace(tmp, out / "results.json")


def merge_results(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One results dict from grids run apart (by task or by seed range): `parts` maps each
    grid's folder, relative to the merged one, to its results. Each cell's episodes are
    joined in seed order and its rate and diagnostics recomputed; videos are made relative to
    the merged folder."""
    first = next(iter(parts.values()))
    cells: dict[str, dict[str, list]] = {}
    for folder, part in parts.items():
        for task, by_policy in part["cells"].items():
            for name, cell in by_policy.items():
                rows = cells.setdefault(task, {}).setdefault(name, [])
                for row in cell["episodes"]:
                    video = {"video": f"{folder}/{row['video']}"} if row.get("video") else {}
                    rows.append({**row, **video})
    seeds = sorted({s for p in parts.values() for s in p["seeds"]})
    policies = list(dict.fromkeys(n for p in parts.values() for n in p["policies"]))
    merged = {**first, "policies": policies, "seeds": seeds, "cells": {}}
    merged["about"] = about(seeds, first["config"]["max_steps"])
    for task, by_policy in cells.items():
        for name, rows in by_policy.items():
            rows.sort(key=lambda r: r["seed"])
            cell = {**rate(rows), "diagnostics": summarise(rows), "episodes": rows}
            merged["cells"].setdefault(task, {})[name] = cell
    return merged


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Means of the episodes' numeric diagnostics, and the summed IDM read counts."""
    diags = [r["diagnostics"] for r in rows if r["diagnostics"]]
    if not diags:
        return None
    out: dict[str, Any] = {}
    for key in diags[0]:
        values = [d[key] for d in diags if d.get(key) is not None]
        if values and isinstance(values[0], float):
            out[key] = float(np.mean(values))
        elif values and isinstance(values[0], dict):
            out[key] = {n: sum(v.get(n, 0) for v in values) for n in sorted(set().union(*values))}
    return out
