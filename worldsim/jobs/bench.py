"""`worldsim bench`: the versioned benchmark (evals/specs/NAME.yaml, format in evals/README.md).

worldsim bench run worldsim-phys-v2 model=baseline:copy_last split=small
worldsim bench export DIR [truth=lossless|lossy]   context frames + actions per case
worldsim bench score DIR                             a folder of CASE_ID.mp4 predictions
worldsim bench compare A.json B.json                 which differences are significant, also
                                                     normalised to the ceiling row in results=
worldsim bench leaderboard                           benchmarks/leaderboard.md + README
worldsim bench checksums NAME                        verify (or, for a new spec, write) the pack
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from evals.bench_cases import (
    BenchCase,
    PackCheck,
    check_checksums,
    fingerprint_path,
    read_checksums,
    regenerate,
    write_checksums,
)
from evals.bench_spec import BenchSpec, load_spec
from evals.bench_stats import paired_difference
from evals.report import format_value
from worldsim.config import ConfigError

ACTIONS = {  # action -> the config keys its positional arguments fill
    "run": ("spec",),
    "export": ("dir",),
    "score": ("dir",),
    "compare": ("a", "b"),
    "leaderboard": ("spec",),
    "checksums": ("spec",),
}


@dataclass
class Config:
    """Bench job: which action, spec, split and model; where cases, videos and results go."""

    action: str = "run"  # run | export | score | compare | leaderboard | checksums
    spec: str = "worldsim-phys-v2"  # a name in evals/specs/ or a path to a spec .yaml
    split: str = "small"  # tiny | small | full
    model: str = "baseline:copy_last"  # baseline:NAME, pretrained:NAME, path, module:factory
    dir: str = ""  # export: folder to write; score: folder of CASE_ID.mp4
    truth: str = ""  # export: also write the true futures to DIR/truth/ (lossless | lossy)
    a: str = ""  # compare: results.json of the first row
    b: str = ""  # compare: results.json of the second row
    name: str = ""  # score: the row's name in results and leaderboard (default folder:DIR)
    note: str = ""  # a line about how this row was made, kept in results and the leaderboard
    out: str = ""  # results folder (default runs/bench/SPEC/SPLIT/ROW)
    cache: str = "data/bench"  # regenerated cases and the ceiling's scores, reused across runs
    workers: int = 1  # recording processes (identical cases for any count)
    device: str = "cpu"  # where a model predicts (cpu | cuda)
    batch_size: int = 4  # cases predicted at once
    seed: int = 0  # bootstrap resampling, noise baseline, perturbations
    ceiling: bool = True  # normalise permanence and physics to the perturbed-truth ceiling
    voe: bool = True  # score violation-of-expectation pairs (needs a model, not a folder)
    results: str = (
        "benchmarks/results/bench"  # leaderboard, compare's ceiling: SPEC/SPLIT/ROW/results.json
    )
    leaderboard: str = "benchmarks/leaderboard.md"  # leaderboard: the table written here
    readme: str = "README.md"  # leaderboard: the section between the bench markers is replaced
    progress: bool = True  # a progress bar per stage


def cli_args(args: list[str]) -> list[str]:
    """`bench run worldsim-phys-v2 k=v` -> `action=run spec=worldsim-phys-v2 k=v`."""
    words = [a for a in args if "=" not in a]
    if not words or words[0] not in ACTIONS:
        raise ConfigError(f"usage: worldsim bench {{{'|'.join(ACTIONS)}}} ... [key=value ...]")
    keys = ("action", *ACTIONS[words[0]])
    if len(words) > len(keys):
        raise ConfigError(f"bench {words[0]} takes {len(keys) - 1} argument(s), got {words[1:]}")
    return [f"{k}={w}" for k, w in zip(keys, words)] + [a for a in args if "=" in a]


def _cases(cfg: Config, spec: BenchSpec, split: str) -> tuple[list[BenchCase], PackCheck]:
    """The split's cases, checked against the shipped pack (a near match is said in one line)."""
    cases = regenerate(spec, split, cfg.cache, cfg.workers, cfg.progress)
    pack = check_checksums(spec, cases)
    note = pack.note()
    if note:
        print(f"bench: {note}")
    return cases, pack


def _slug(row: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", row.removeprefix("baseline:")).strip("_")


def _row_name(model: str) -> str:
    return model.removeprefix("baseline:")


def _finish(cfg: Config, spec: BenchSpec, split: str, row: str, cases, per_case, extra) -> None:
    """Summarise, attach the ceiling-normalised table, write and print the row."""
    from evals.bench_report import write_results
    from evals.bench_run import summarise_run

    result = summarise_run(spec, split, row, cases, per_case, cfg.seed)
    result.update(extra)
    out = cfg.out or f"runs/bench/{spec.name}/{split}/{_slug(row)}"
    paths = write_results(result, out)
    for metric, stat in result["summary"].items():
        lo, hi = stat["lo"], stat["hi"]
        interval = f" [{format_value(lo)}, {format_value(hi)}]" if lo is not None else ""
        print(f"{metric}: {format_value(stat['mean'])}{interval} (n={stat['n']})")
    print(f"bench: wrote {', '.join(str(p) for p in paths)}")


def _extras(cfg: Config, spec, split, row, model, cases, pack, per_case, skipped=None) -> dict:
    """VoE accuracy (added to `per_case`) and the ceiling-normalised table, where enabled, and
    how the cases matched the shipped pack; `skipped`: group -> why the model cannot predict it
    (its cases stay n/a)."""
    from evals.bench_ceiling import ceiling_scores, normalised_table
    from evals.bench_voe import METRIC as VOE_METRIC
    from evals.bench_voe import by_kind, case_accuracies, voe_pair_scores

    skipped = skipped or {}
    extra: dict = {"notes": [cfg.note] if cfg.note else []}
    extra["notes"] += [
        f"cannot predict {g} ({why}): its cases are n/a" for g, why in skipped.items()
    ]
    note = pack.note()
    extra["notes"] += [note] if note else []
    extra["pack"] = {"bit_exact": pack.exact, "within_tolerance": pack.near}
    if cfg.voe and model is not None:
        kept = [c for c in cases if c.spec.group not in skipped]
        scores = voe_pair_scores(row, model, kept, cfg.device)
        for case_id, value in case_accuracies(scores).items():
            per_case[case_id][VOE_METRIC] = value
        extra["voe_by_kind"] = by_kind(scores, cfg.seed)
    if cfg.ceiling:
        ceiling = ceiling_scores(spec, split, cases, cfg.cache, cfg.seed)
        extra["normalised"] = normalised_table(per_case, ceiling, cfg.seed)
    return extra


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (recording workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _run(cfg: Config) -> None:
    from evals.bench_models import load_bench_model, require_bench_model

    require_bench_model(cfg.model)  # before the imports below load torch (seconds)
    from evals.bench_ceiling import ceiling_scores
    from evals.bench_run import predict, score_videos, unsupported_groups

    start, cpu_start, load_start = time.perf_counter(), _cpu_seconds(), os.getloadavg()
    spec = load_spec(cfg.spec)
    row = _row_name(cfg.model)
    model = None if row == "ceiling" else load_bench_model(cfg.model, cfg.device, cfg.seed)
    cases, pack = _cases(cfg, spec, cfg.split)  # after the model: a bad model= fails first
    skipped = {} if model is None else unsupported_groups(model, cases)
    if model is None:
        per_case = ceiling_scores(spec, cfg.split, cases, cfg.cache, cfg.seed)
    else:
        kept = [c for c in cases if c.spec.group not in skipped]
        preds = {k: [v] for k, v in predict(model, kept, cfg.batch_size, cfg.device).items()}
        per_case = score_videos(cases, {c.case_id: preds.get(c.case_id, []) for c in cases})
    extra = _extras(cfg, spec, cfg.split, row, model, cases, pack, per_case, skipped)
    extra["wall_seconds"] = round(time.perf_counter() - start, 1)
    extra["cpu_seconds"] = round(_cpu_seconds() - cpu_start, 1)
    extra["load_average"] = {  # 1, 5, 15 min: the machine's other work during the run
        "start": [round(x, 2) for x in load_start],
        "end": [round(x, 2) for x in os.getloadavg()],
    }
    _finish(cfg, spec, cfg.split, row, cases, per_case, extra)


def _score(cfg: Config) -> None:
    if not cfg.dir or not Path(cfg.dir).is_dir():
        raise ConfigError(f"bench score needs a folder of CASE_ID.mp4, got dir={cfg.dir!r}")
    if not any(Path(cfg.dir).glob("*.mp4")) and not any(Path(cfg.dir).glob("*.npy")):
        raise ConfigError(f"{cfg.dir} holds no CASE_ID.mp4; `bench export` lists the cases")
    from evals.bench_run import score_videos
    from evals.bench_videos import folder_manifest, read_predictions

    manifest = folder_manifest(cfg.dir) or {"spec": cfg.spec, "split": cfg.split}
    spec = load_spec(manifest["spec"])
    cases, pack = _cases(cfg, spec, manifest["split"])
    preds = read_predictions(cfg.dir, cases)
    per_case = score_videos(cases, {k: [v] for k, v in preds.items()})
    extra = _extras(cfg, spec, manifest["split"], "", None, cases, pack, per_case)
    extra["notes"].append(f"scored from the videos in {cfg.dir}; voe needs a model: not scored")
    row = cfg.name or f"folder:{Path(cfg.dir).name}"
    _finish(cfg, spec, manifest["split"], row, cases, per_case, extra)


def _export(cfg: Config) -> None:
    if not cfg.dir or Path(cfg.dir).is_file():
        raise ConfigError(f"bench export needs a folder, not {cfg.dir!r}: bench export DIR")
    if cfg.truth not in ("", "lossless", "lossy"):
        raise ConfigError(f"truth={cfg.truth!r}; use truth=lossless, truth=lossy or leave it out")
    from evals.bench_videos import export_cases

    spec = load_spec(cfg.spec)
    cases, _ = _cases(cfg, spec, cfg.split)
    root = export_cases(spec, cfg.split, cases, cfg.dir, cfg.truth)
    print(f"bench: exported {len(cases)} cases of {spec.name} {cfg.split} to {root}")


def _compare(cfg: Config) -> None:
    if not (cfg.a and cfg.b):
        raise ConfigError("usage: worldsim bench compare A/results.json B/results.json")
    a, b = _read_result(cfg.a), _read_result(cfg.b)
    if (a["bench"], a["version"]) != (b["bench"], b["version"]):
        raise ConfigError(
            f"{cfg.a} is {a['bench']} v{a['version']}, {cfg.b} is {b['bench']} v{b['version']}: "
            "compare rows of one spec version"
        )
    print(f"{b['model']} - {a['model']} (paired over cases, {a['interval']}):")
    va, vb = _case_metrics(a), _case_metrics(b)
    names = (a["model"], b["model"])
    for metric, higher in a["higher_is_better"].items():
        _print_difference(metric, _column(va, metric), _column(vb, metric), higher, names, cfg.seed)
    ceiling_path = Path(cfg.results) / a["bench"] / a["split"] / "ceiling" / "results.json"
    if not ceiling_path.is_file():
        print(f"  normalised metrics: n/a (no ceiling row at {ceiling_path})")
        return
    from evals.bench_ceiling import NORMALISED_METRICS, normalised_per_case

    ceiling = _case_metrics(_read_result(str(ceiling_path)))
    na, nb = (normalised_per_case(v, ceiling) for v in (va, vb))
    for metric in NORMALISED_METRICS:
        label = f"{metric} / ceiling"
        _print_difference(label, _column(na, metric), _column(nb, metric), True, names, cfg.seed)


def _case_metrics(result: dict) -> dict[str, dict[str, float]]:
    """case_id -> metric -> value of a results.json (NaN where it is n/a)."""
    return {k: {m: _nan(v) for m, v in c["metrics"].items()} for k, c in result["per_case"].items()}


def _column(per_case: dict[str, dict[str, float]], metric: str) -> dict[str, float]:
    return {k: scores.get(metric, float("nan")) for k, scores in per_case.items()}


def _print_difference(
    label: str, a: dict, b: dict, higher: bool, names: tuple[str, str], seed: int
) -> None:
    """One line of `compare`: B - A, paired over the cases where both rows define it."""
    d = paired_difference(a, b, seed)
    if d["n"] == 0:
        print(f"  {label}: n/a (no case where both rows define it)")
        return
    verdict = "n/a" if d["significant"] is None else "not significant"
    if d["significant"]:
        verdict = f"significant: {names[1] if (d['mean'] > 0) == higher else names[0]} better"
    interval = f"[{format_value(d['lo'])}, {format_value(d['hi'])}]"
    print(f"  {label}: {format_value(d['mean'])} {interval} n={d['n']}: {verdict}")


RESULT_KEYS = ("bench", "version", "split", "model", "interval", "higher_is_better", "per_case")


def _read_result(path: str) -> dict:
    """A row's results.json, or a one-line error naming the file."""
    fix = "give a results.json written by `worldsim bench run` or `score`"
    if not Path(path).is_file():
        raise ConfigError(f"compare: {path} is not a file; {fix}")
    try:
        result = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"compare: {path} is not JSON ({err}); {fix}") from err
    missing = [k for k in RESULT_KEYS if not isinstance(result, dict) or k not in result]
    if missing:
        raise ConfigError(f"compare: {path} lacks {', '.join(missing)}; {fix}")
    return result


def _nan(v) -> float:
    return float("nan") if v is None else float(v)


def _leaderboard(cfg: Config) -> None:
    from evals.bench_report import leaderboard, replace_section

    spec = load_spec(cfg.spec)
    folder = Path(cfg.results) / spec.name / cfg.split
    rows = [json.loads(p.read_text()) for p in sorted(folder.glob("*/results.json"))]
    if not rows:
        raise FileNotFoundError(f"no {folder}/*/results.json; run `worldsim bench run` first")
    text = leaderboard(rows)
    Path(cfg.leaderboard).write_text(f"# {spec.name} leaderboard\n\n{text}")
    readme = Path(cfg.readme)
    readme.write_text(replace_section(readme.read_text(), text))
    print(f"bench: wrote {cfg.leaderboard} and the leaderboard section of {cfg.readme}")


def _checksums(cfg: Config) -> None:
    spec = load_spec(cfg.spec)
    if read_checksums(spec):
        cases, pack = _cases(cfg, spec, cfg.split)
        print(
            f"bench: {len(cases)} cases of {spec.name} {cfg.split} match the shipped pack "
            f"({pack.exact} bit-exact, {len(pack.near)} within tolerance)"
        )
        return
    cases = regenerate(spec, "full", cfg.cache, cfg.workers, cfg.progress)
    write_checksums(spec, cases)
    print(
        f"bench: wrote {len(cases)} checksums to {spec.checksum_path} and their fingerprints to "
        f"{fingerprint_path(spec)}"
    )


def run(cfg: Config) -> None:
    handlers = {
        "run": _run,
        "export": _export,
        "score": _score,
        "compare": _compare,
        "leaderboard": _leaderboard,
        "checksums": _checksums,
    }
    if cfg.action not in handlers:
        raise ConfigError(f"action={cfg.action!r}; choose one of {', '.join(handlers)}")
    try:
        handlers[cfg.action](cfg)
    except ValueError as err:
        raise ConfigError(str(err)) from err
