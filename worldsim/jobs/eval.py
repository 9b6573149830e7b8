"""`worldsim eval`: score a world-model checkpoint or a baseline with the eval suites, beside
calibration rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import evals.toyworld  # noqa: F401  (registers worldsim/EvalToy-v0 for tests and demos)
from envs.make import EnvConfig
from evals.report import format_value, write_report
from evals.scenarios import ScenarioConfig, load_cases, store_path
from worldsim.config import ConfigError
from worldsim.data.manifest import manifest_sha256
from worldsim.models.idm_config import IDMConfig
from worldsim.progress_bar import log_now, progress_bar, restart


@dataclass
class Config:
    """Eval job: which suites, which model, which held-out scenarios, where the report goes."""

    suite: str = (
        "all"  # fidelity|consistency3d|permanence|physics|control|all (those 5)|stability|camera
    )
    model: str = (
        "baseline:copy_last"  # checkpoint path or baseline:{ground_truth,copy_last,linear,noise}
    )
    sampling: dict[str, Any] = field(
        default_factory=dict
    )  # DiTPredictor overrides: steps, window, seed, ...
    baselines: list[str] = field(  # calibration rows scored beside the model
        default_factory=lambda: ["ground_truth", "copy_last", "linear", "noise"]
    )
    corruptions: list[str] = field(
        default_factory=list
    )  # also score these corrupted replays (see evals/corruptions.py)
    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 8  # held-out cases
    context: int = 4  # true frames given before the model predicts
    horizon: int = 12  # frames it predicts after them
    seed: int = 1_000_000  # held-out seeds start here (training episodes use lower seeds)
    policy: str = "random"  # actions of the held-out episodes: random | scripted | mixed
    cache: str = "data/eval_scenarios"  # scenario stores, reused across runs
    device: str = "cpu"  # cpu | cuda
    batch_size: int = 4  # cases predicted at once
    idm: str = ""  # inverse dynamics checkpoint for the control suite; empty: train one (idm_train)
    idm_episodes: int = 96  # training episodes (seeds 0..) for an IDM trained here
    idm_train: IDMConfig = field(default_factory=IDMConfig)
    lpips_net: str = "alex"  # LPIPS trunk of the fidelity suite: alex | vgg
    videos: int = 2  # cases shown as side-by-side videos in report.html
    out: str = "runs/eval"  # report.json, report.html and its videos
    progress: bool = True  # show one progress bar over every phase (with its ETA)


def _lpips(cfg: Config):
    """(LPIPS net, None) or (None, reason it is unavailable)."""
    from worldsim.models.lpips import LPIPS, MissingWeightsError

    try:
        return LPIPS(cfg.lpips_net).to("cpu"), ""
    except MissingWeightsError as err:
        return None, f"{err}; without them the report has no lpips metric (psnr, ssim still scored)"


def _require_models(cfg: Config) -> None:
    """Refuse a model= or idm= file that is not there before torch loads (seconds); idm= is
    read by the control suite alone (one of `all`)."""
    from evals.baselines import require_model

    require_model(cfg.model)
    reads_idm = cfg.suite == "all" or "control" in cfg.suite.split(",")
    if cfg.idm and reads_idm and not Path(cfg.idm).is_file():
        raise FileNotFoundError(f"idm={cfg.idm}: no such file; give an idm.pt or leave idm empty")


def _load_idm(path: str):
    """The IDM saved at `path`, once it reads as an IDM file (one-line CheckpointError
    otherwise)."""
    from worldsim.models.idm import load_idm

    return load_idm(
        path, "give an idm.pt that `worldsim eval` saved, or leave idm empty to train one"
    )


def _phase(bar: tqdm, name: str) -> tqdm:
    """The stage's one bar, labelled with the phase it counts next (whose code sets its total). The
    phase that ends is drawn first, at its last count: in a log each phase then has a line of its
    own (a short one would otherwise fall between two of the bar's 30-s lines and never be
    named). Nothing is drawn before any work, so that an input refused at once prints no bar."""
    if bar.n:
        log_now(bar)
    bar.set_description(f"eval: {name}", refresh=False)
    bar.set_postfix_str("", refresh=False)  # the last phase's, e.g. record's fps
    return bar


def _idm(cfg: Config, scenario, action_dim: int, bar: tqdm):
    """Train an IDM on training-seed episodes of the same env (saved in out)."""
    from worldsim.models.idm import train_idm

    train = load_cases(
        replace(
            scenario,
            episodes=cfg.idm_episodes,
            seed=0,
            context=2,
            horizon=cfg.context + cfg.horizon - 2,
        ),
        progress=_phase(bar, "record IDM episodes"),
    )
    idm = train_idm(
        [(c.frames, c.actions) for c in train],
        replace(cfg.idm_train, action_dim=action_dim),
        progress=_phase(bar, "train IDM"),
    )
    idm.save(Path(cfg.out) / "idm.pt")
    return idm


def _videos(cfg: Config, cases, predictions) -> list[str]:
    """Per shown case, a gif with truth then each row side by side; paths relative to `out`."""
    from worldsim.video import CAPTION_WIDTH, frame_grid, write_video

    names = list(predictions)
    paths = []
    for k, case in enumerate(cases[: cfg.videos]):
        tiles = [case.frames] + [
            np.concatenate([case.frames[: case.context], predictions[r][k]]) for r in names
        ]
        captions = ["truth"] + names
        # tiles as wide as their captions: a 32-px model's frames are not lost in black gaps
        grid = frame_grid(
            tiles, len(tiles), captions=captions, caption_lines=2, tile_width=CAPTION_WIDTH
        )
        rel = f"videos/{case.name}.gif"
        write_video(Path(cfg.out) / rel, grid, fps=case.meta.get("fps", 15))
        paths.append(rel)
    return paths


def _scenario(cfg: Config) -> ScenarioConfig:
    """The held-out episodes' settings; a cache= that is an episode store or latent cache is
    refused: it is a folder of scenario stores, one per scenario set, that eval records itself
    (and an out= that is one: the report's files would mix into it)."""
    from worldsim.jobs.pipeline import refuse_data_dir

    refuse_data_dir("eval", cfg.cache, "cache", "a scenario store per scenario set")
    refuse_data_dir("eval", cfg.out, writes="report.json, report.html and videos")
    # a file there (or above it) would fail as a NotADirectoryError once the rollout starts
    cache = Path(cfg.cache).absolute()
    blocker = next((p for p in (cache, *cache.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(
            f"cache={cfg.cache}: {blocker} is a file; give a folder (eval records its scenarios "
            "there)"
        )
    return ScenarioConfig(
        env=cfg.env,
        episodes=cfg.episodes,
        context=cfg.context,
        horizon=cfg.horizon,
        seed=cfg.seed,
        policy=cfg.policy,
        cache=cfg.cache,
    )


def run(cfg: Config) -> None:
    scenario = _scenario(cfg)
    _require_models(cfg)
    from evals.run import SUITE_NAMES, evaluate_rows, suite_module, suites_for_cases
    from evals.suite import SuiteContext

    suites = list(SUITE_NAMES) if cfg.suite == "all" else cfg.suite.split(",")
    # the stage's one line, drawn from its first count (delay): an input refused before any work
    # prints no bar. Each phase counts its own units (episodes recorded, IDM steps, rollouts
    # scored take unlike times): one count over all of them ran its percentage and ETA ahead
    with progress_bar(desc="eval", disable=not cfg.progress, delay=0.1) as bar:
        try:
            for name in suites:
                suite_module(name)  # unknown names fail here, before any work
            rows = _rows(cfg, scenario)  # a missing or unreadable model fails before any rollout
            _check_action_width(cfg, rows.get("model"))
            idm = _load_idm(cfg.idm) if cfg.idm and "control" in suites else None
            cases = load_cases(scenario, progress=_phase(bar, "record scenarios"))
            suites = suites_for_cases(suites, cases, named=cfg.suite != "all")
        except ValueError as err:
            raise ConfigError(str(err)) from err
        Path(cfg.out).mkdir(parents=True, exist_ok=True)
        ctx = SuiteContext(device=cfg.device, batch_size=cfg.batch_size)
        if "fidelity" in suites:
            ctx.lpips, ctx.lpips_unavailable = _lpips(cfg)
        if "control" in suites:
            ctx.idm = idm or _idm(cfg, scenario, cases[0].actions.shape[-1], bar)
        # units: each row's rollout and its scores
        scoring = restart(_phase(bar, "predict and score"), len(rows) * (1 + len(suites)))
        results, predictions = evaluate_rows(rows, cases, suites, ctx, scoring)
    model = rows.get("model")
    report = {
        "model": cfg.model,
        # what the model sampled with: the checkpoint's settings under `sampling`'s overrides
        "model_sampling": model.config() if hasattr(model, "config") else None,
        "config": asdict(cfg),
        "suites": results,
        "scenario": _scenario_summary(scenario, len(cases)),
        "videos": _videos(cfg, cases, predictions),
        "videos_legend": (
            "each video: truth, then every row (context frames are true, then its prediction)"
        ),
    }
    json_path, html_path = write_report(report, cfg.out)
    _print_summary(results)
    print(f"eval: wrote {json_path} and {html_path}")


def _scenario_summary(scenario: ScenarioConfig, cases: int) -> dict[str, Any]:
    """The report's account of the held-out episodes it scored."""
    return {
        "env": asdict(scenario.env),
        "cases": cases,
        "seed": scenario.seed,
        "context": scenario.context,
        "horizon": scenario.horizon,
        # which episodes were scored (their manifest, with every episode's checksum): two
        # reports that agree here scored the same episodes, whichever cache each read
        "episodes_sha256": manifest_sha256([str(store_path(scenario))])[0],
    }


def _check_action_width(cfg: Config, model: Any) -> None:
    """A DiT conditioned on fewer action values per frame than the env's codec gives cannot
    take that env's actions (`check_action_width`)."""
    from worldsim.data.actions import check_env_actions

    module = getattr(model, "module", None)
    if module is None or not module.model_cfg.action_dim:
        return
    check_env_actions(module, cfg.env, cfg.model)


def _rows(cfg: Config, scenario: ScenarioConfig) -> dict:
    """The model under test, the baselines and the corrupted replays, by row name."""
    from evals.baselines import BASELINE_PREFIX
    from evals.corruptions import CorruptedReplay
    from evals.run import load_model

    under_test = (
        cfg.model.removeprefix(BASELINE_PREFIX)
        if cfg.model.startswith(BASELINE_PREFIX)
        else "model"
    )
    if cfg.sampling and cfg.model.startswith(BASELINE_PREFIX):
        raise ConfigError(f"sampling={cfg.sampling}: {cfg.model} samples nothing; drop sampling")
    try:
        rows = {under_test: load_model(cfg.model, cfg.device, **cfg.sampling)}
    except ValueError as err:  # a sampling knob the sampler refuses (e.g. steps=0)
        raise ConfigError(f"model={cfg.model} with sampling={cfg.sampling}: {err}") from err
    rows.update(
        {name: load_model(BASELINE_PREFIX + name) for name in cfg.baselines if name != under_test}
    )
    rows.update({f"corrupt:{name}": CorruptedReplay(name, scenario) for name in cfg.corruptions})
    return rows


def _print_summary(results: dict) -> None:
    """One line per suite: its primary metric for every row."""
    for suite, res in results.items():
        line = ", ".join(
            f"{row}={format_value(r['metrics'][res['primary']])}" for row, r in res["rows"].items()
        )
        print(f"{suite} ({res['primary']}): {line}")
