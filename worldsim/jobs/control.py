"""`worldsim control`: zero-shot control of a real env from a text prompt, and its measurement.

    worldsim control env=crafter prompt="get wood"            # one prompt, its task's success
    worldsim control tasks=[collect_wood,eat_cow] policies=[prompt,no_prompt,random,scripted] \\
        episodes=50 results=experiments/prompt_control/results.json   # the grid

The loop (worldsim/control/): observe the real frames, encode them, imagine the next latent
frames from the (expanded) prompt with the null action, decode, read the actions off the
imagined frames with the env's inverse dynamics model, execute the first `control.execute` of
them, repeat. Policy `likelihood` plans instead by imagining candidate action sequences and
executing the one whose future the prompt explains best (worldsim/control/likelihood.py).
Writes a side-by-side video per episode, results.json and summary.html to `out`; run again into
the same `out`, a grid reads back the episodes it finished.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from envs.make import EnvConfig
from worldsim.config import ConfigError
from worldsim.control.control_config import IMAGINING, POLICIES, ControlConfig
from worldsim.control.tasks import (
    CRAFTER_ID,
    STRIKES,
    TaskError,
    env_family,
    named_task,
    push_target,
    task_from_prompt,
)

IDM_ASSETS = Path(__file__).resolve().parents[1] / "assets" / "idm"
HELD_OUT_SEED = 200_000  # recordings for training used seeds below this
EXAMPLES = {  # what `control` needs, by the env's task family (None: an env without tasks)
    "crafter": 'prompt="get wood" or tasks=[collect_wood,...]',
    "push": 'tasks=[push_left,...] or prompt="push the pink box left" (an object of the scene)',
    None: 'prompt="..." or tasks=[...], with env=crafter (collect_wood, ...) or env=push_control '
    "(push_left, ...)",
}


@dataclass
class Config:
    """Which env, model and IDM; one prompt or a grid of tasks x policies x seeds."""

    env: EnvConfig = field(default_factory=lambda: EnvConfig(id=CRAFTER_ID))
    ckpt: str = "pretrained:crafter"  # world model (imagines the plans)
    idm: str = ""  # inverse dynamics checkpoint; "" = the shipped one: assets/idm/<env>.pt
    prompt: str = ""  # a user prompt (its words pick the task); "" = the `tasks` grid
    tasks: list[str] = field(default_factory=list)  # collect_wood, ..., push_left, ...
    # prompt | short_prompt | no_prompt | consensus | likelihood[_no_prompt] | random | scripted
    policies: list[str] = field(default_factory=lambda: ["prompt"])
    episodes: int = 1  # held-out seeds per task x policy
    seed: int = HELD_OUT_SEED  # episode k of a cell plays seed + k
    control: ControlConfig = field(default_factory=ControlConfig)
    text_table: str = ""  # .npz of sentence embeddings the model's table lacks (no encoder here)
    device: str = "auto"  # where the world model and the IDM run (auto: cuda when present)
    out: str = "runs/control"  # videos/, results.json and summary.html
    results: str = ""  # also copy results.json here (e.g. experiments/prompt_control/)
    progress: bool = True  # a progress bar per task x policy over its env steps (with its ETA)


def _tasks(cfg: Config):
    try:
        if cfg.prompt:
            return [task_from_prompt(cfg.env, cfg.prompt)]
        if not cfg.tasks:
            raise ConfigError(f"control needs {EXAMPLES[env_family(cfg.env.id)]}")
        tasks = [named_task(t, cfg.env) for t in cfg.tasks]
    except TaskError as err:
        raise ConfigError(str(err)) from err
    _refuse_other_env(cfg.env.id, tasks)
    return tasks


def _refuse_absent_objects(cfg: Config, tasks) -> None:
    """A Push prompt that names a colour (`push the pink box left`) is refused before any episode
    when a seed's scene has no object of that colour: each seed's scene is drawn at its reset."""
    from envs.make import make_env

    for task in tasks:
        if task.family != "push" or not task.target.get("colour"):
            continue
        env = make_env(task.env)
        try:
            for seed in range(cfg.seed, cfg.seed + cfg.episodes):
                env.reset(seed=seed)
                push_target(env, task.target)
        except TaskError as err:
            raise ConfigError(f"seed {seed}: {err}") from err
        finally:
            env.close()


def _refuse_other_env(env_id: str, tasks) -> None:
    """A task takes only the frame size from an env of another family (`named_task`), so
    `env=orbit tasks=[collect_wood]` would play Crafter in silence: an env.id asked for (not the
    default) must be the one the tasks play."""
    if env_id == CRAFTER_ID:
        return
    other = next((t for t in tasks if t.family != env_family(env_id)), None)
    if other is not None:
        env = {"crafter": "env=crafter", "push": "env=push_control"}[other.family]
        raise ConfigError(
            f"task {other.name} is played in {other.env.id}, not in env.id={env_id}; pass {env}"
        )


def _models(cfg: Config, family: str, imagine: bool, heard: list[str]):
    """World model and IDM (None, None when no policy imagines). `heard`: sentences the model's
    own caption table must hold, i.e. that it was trained on (the hit sentences of
    `control.hits`: a model that never read them would take them as noise, in silence)."""
    if not imagine:
        return None, None
    from worldsim.jobs.encode import resolve_device
    from worldsim.models.idm import load_idm
    from worldsim.models.text import TextTable
    from worldsim.training.world_model import load_world_model

    # the small files first: a damaged one is named before the world model loads
    how = "give an IDM trained for this env (experiments/prompt_control), or leave idm empty"
    idm = load_idm(_idm_path(cfg, family), how)
    table = TextTable.load(cfg.text_table) if cfg.text_table else None
    module = load_world_model(cfg.ckpt, resolve_device(cfg.device))
    if module.autoencoder() is None:
        raise ConfigError(f"world model {cfg.ckpt} has no readable autoencoder")
    own = module.text_table
    if unheard := [s for s in heard if own is not None and s not in own]:
        raise ConfigError(
            f"control.hits=true: {cfg.ckpt} was not trained on {unheard[0]!r} (its caption table "
            "lacks it); give a model trained on episodes recorded with env.kwargs.hits=true, or "
            "leave control.hits=false"
        )
    if table is not None and module.text_table is not None:
        module.text_table.rows.update(table.rows)
        module.set_text_table(module.text_table)
    return module, idm


def _idm_path(cfg: Config, family: str) -> Path:
    """idm=, or the shipped IDM of the tasks' env `family`."""
    return Path(cfg.idm or IDM_ASSETS / f"{family}.pt")


def _require_models(cfg: Config, family: str, env_id: str) -> None:
    """Refuse an IDM or world-model file that is not there, or a shipped model of another game,
    before torch loads (seconds)."""
    from worldsim.models.pretrained import check_trained_env, require_world_model

    idm_path = _idm_path(cfg, family)
    if not idm_path.is_file():
        raise ConfigError(f"idm={idm_path}: no such file; train one (experiments/prompt_control)")
    require_world_model(cfg.ckpt)
    check_trained_env(cfg.ckpt, env_id)


def _refuse_other_actions(cfg: Config, env: EnvConfig, module, idm) -> None:
    """A world model or IDM made for another env's actions (pretrained:mujoco on Crafter) is
    refused before any episode: the checkpoint records its action width, not its env, so the
    widths are what is compared (a model of fewer values than the env's codec, as eval and play
    do; the IDM, which writes the env's actions, exactly)."""
    from worldsim.data.actions import check_env_actions

    width = check_env_actions(module, env, cfg.ckpt)
    if idm.cfg.action_dim != width:
        raise ConfigError(
            f"idm={cfg.idm or 'the shipped one'} reads {idm.cfg.action_dim} action values but "
            f"env.id={env.id} takes {width}; give the IDM trained on that env"
        )


def _source(cfg: Config) -> dict:
    """What made a grid's episodes besides the loop's knobs: a finished episode in `out` is
    played again when any of these differs (see `run_grid`)."""
    return {"env": asdict(cfg.env), "ckpt": cfg.ckpt, "idm": cfg.idm, "text_table": cfg.text_table}


def _refuse_idle_knobs(cfg: Config, tasks) -> list[str]:
    """Knobs that would do nothing here (or videos this machine cannot write) are refused, not
    ignored, before torch loads; -> the sentences the model must have been trained on (the hit
    sentences of `control.hits`, checked against its caption table once it loads)."""
    from envs.crafter.captions import hit_sentence
    from worldsim.video import mp4_missing

    if len({t.family for t in tasks}) > 1:
        raise ConfigError("tasks mix crafter and push; run one env family per grid")
    if cfg.control.videos and cfg.control.video == "mp4" and (why := mp4_missing()):
        raise ConfigError(f"control.video=mp4: {why}; set control.video=gif or control.videos=0")
    if cfg.control.full_speed and tasks[0].family != "push":
        raise ConfigError("control.full_speed=true needs continuous actions; use env=push_control")
    if not cfg.control.heading and tasks[0].family != "crafter":
        raise ConfigError(
            "control.heading=false drops Crafter's movement sentence; a Push prompt names its "
            "direction: leave control.heading=true"
        )
    strikes = [hit_sentence(STRIKES[t.name]) for t in tasks if t.name in STRIKES]
    if cfg.control.hits and not strikes:
        raise ConfigError(
            "control.hits=true says eat cow's strikes in its prompt, and no task here strikes: "
            "add eat_cow to the tasks, or leave control.hits=false"
        )
    if cfg.control.imagine.shared_scale != 1.0 and cfg.control.imagine.contrast != "event":
        raise ConfigError(
            "control.imagine.shared_scale weighs the sentences beside the event: set "
            "control.imagine.contrast=event, or leave shared_scale=1"
        )
    return strikes if cfg.control.hits else []


def _play(cfg: Config, tasks, heard: list[str], imagine: bool) -> dict:
    """Load the models (when a policy `imagine`s; the world model must know `heard`) and play
    the grid -> its results."""
    import torch

    from worldsim.control.grid import Harness, run_grid

    module, idm = _models(cfg, tasks[0].family, imagine, heard)
    if module is not None:
        _refuse_other_actions(cfg, tasks[0].env, module, idm)
    # GPU matmuls in TF32, as training runs them: the likelihood planner's batches (N candidates
    # imagined, 2 x levels x N scored per plan) are most of a grid's time
    torch.backends.cuda.matmul.allow_tf32 = True
    harness = Harness(module, idm, cfg.control, cfg.progress)
    seeds = list(range(cfg.seed, cfg.seed + cfg.episodes))
    with torch.no_grad():
        return run_grid(harness, tasks, cfg.policies, seeds, cfg.out, _source(cfg))


def run(cfg: Config) -> None:
    from worldsim.config import check_out
    from worldsim.jobs.pipeline import refuse_data_dir

    refuse_data_dir("control", cfg.out, writes="videos, results.json and summary.html")
    check_out("results", cfg.results, is_file=True)  # copied to at the end: named before the grid
    unknown = [p for p in cfg.policies if p not in POLICIES]
    if unknown or not cfg.policies:
        raise ConfigError(f"policies={cfg.policies}: choose from {', '.join(POLICIES)}")
    tasks = _tasks(cfg)
    heard = _refuse_idle_knobs(cfg, tasks)
    _refuse_absent_objects(cfg, tasks)
    imagine = any(p in IMAGINING for p in cfg.policies)  # else no model is read
    if imagine:
        _require_models(cfg, tasks[0].family, tasks[0].env.id)
    results = _play(cfg, tasks, heard, imagine)
    for task, cells in results["cells"].items():
        for policy, c in cells.items():
            lo, hi = c["ci95"]
            print(
                f"control: {task} {policy}: {c['successes']} of {c['n']} succeeded "
                f"(95% interval {lo:.2f}-{hi:.2f})"
            )
    if cfg.results:
        Path(cfg.results).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(cfg.out) / "results.json", cfg.results)
    print(f"control: videos, results.json, summary.html -> {cfg.out}")
