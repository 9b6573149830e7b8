"""Scenario sets: episodes recorded from an env with held-out seeds, cached in an episode store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from envs.make import EnvConfig
from worldsim.data.record import record_episodes
from worldsim.data.store import EpisodeStore

HELD_OUT_SEED = 1_000_000  # training episodes use seeds below this; eval episodes start here


@dataclass
class ScenarioConfig:
    """Which env, how many held-out episodes, and how each is split into context and horizon."""

    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 8
    context: int = 4  # true frames the model sees
    horizon: int = 12  # frames the model predicts
    seed: int = HELD_OUT_SEED  # episode k uses seed + k
    policy: str = "random"  # random | scripted (as in `worldsim record`)
    cache: str = "data/eval_scenarios"
    workers: int = 1  # recording processes (episodes are byte-identical for any count)


@dataclass
class Case:
    """One held-out episode: `frames[:context]` are given, `frames[context:]` are predicted."""

    name: str
    frames: np.ndarray  # (T, H, W, 3) uint8
    actions: np.ndarray  # (T, A) float32, actions[t] precedes frame t
    truth: dict[str, np.ndarray]  # Episode.truth arrays, each (T, ...)
    objects: list[dict[str, Any]]
    events: list[dict[str, Any]]
    prompt: str
    context: int
    meta: dict[str, Any]

    @property
    def future(self) -> np.ndarray:
        return self.frames[self.context :]  # (horizon, H, W, 3)

    @property
    def horizon(self) -> int:
        return self.frames.shape[0] - self.context


def recorder_code(env_id: str) -> str:
    """sha256 of the source that decides what an env's episodes hold: the env's own package under
    envs/ (its scripted policies live there), envs/'s shared modules and the recorder with its
    policy mixes. A planner change makes the same seeds record different episodes; keying the
    cache by this keeps an old store from being read as the new one (2026-11-30: after the
    Crafter planners changed, 6 of 8 cached held-out episodes differed from a fresh recording)."""
    import gymnasium as gym

    import envs

    root = Path(envs.__file__).parent
    entry = gym.spec(env_id).entry_point if env_id in gym.registry else None
    module = entry.split(":")[0].split(".") if isinstance(entry, str) else []
    own = root / module[1] if module[:1] == ["envs"] and len(module) > 2 else None
    if own is not None and own.is_dir():
        files = sorted(root.glob("*.py")) + sorted(own.rglob("*.py"))
    else:  # an env outside envs/'s packages: every env's source, to be safe
        files = sorted(root.rglob("*.py"))
    files.append(Path(record_episodes.__code__.co_filename))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def store_path(cfg: ScenarioConfig) -> Path:
    """Cache directory of a scenario set: one store per (env config, seeds, length, policy, and
    the recording code: `recorder_code`)."""
    key = json.dumps(
        {
            "env": asdict(cfg.env),
            "episodes": cfg.episodes,
            "steps": cfg.context + cfg.horizon,
            "seed": cfg.seed,
            "policy": cfg.policy,
            "code": recorder_code(cfg.env.id),
        },
        sort_keys=True,
        default=str,
    )
    short = cfg.env.id.split("/")[-1].replace("-", "_").lower()
    return Path(cfg.cache) / f"{short}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def load_cases(cfg: ScenarioConfig, progress: bool | tqdm = False) -> list[Case]:
    """Record (or reuse from the cache) the scenario set and return its cases (`progress`: see
    worldsim.data.record.phase_bar)."""
    steps = cfg.context + cfg.horizon
    if cfg.context < 2 or cfg.horizon < 2:
        raise ValueError(f"scenario context={cfg.context} horizon={cfg.horizon}; both must be >= 2")
    out = store_path(cfg)
    record_episodes(
        cfg.env,
        str(out),
        cfg.episodes,
        steps,
        seed=cfg.seed,
        workers=cfg.workers,
        policy=cfg.policy,
        progress=progress,
    )
    store = EpisodeStore(out)
    cases = []
    for name in store.names():
        ep = store.load(name, mmap=False)
        if ep.length != steps:
            continue  # terminated early: too short to score the whole horizon
        prompt = ep.captions.get("prompt") or ep.captions.get("long", "")
        cases.append(
            Case(
                name=name,
                frames=ep.frames,
                actions=ep.actions,
                truth=ep.truth,
                objects=ep.objects,
                events=ep.events,
                prompt=prompt,
                context=cfg.context,
                meta=ep.meta,
            )
        )
    if not cases:
        raise ValueError(
            f"scenario set {out} has no episode of {steps} frames; lower context/horizon"
        )
    return cases


def resimulated(cfg: ScenarioConfig, **env_kwargs: Any) -> list[Case]:
    """The same seeds and actions re-simulated with changed env kwargs (e.g. gravity)."""
    env = replace(cfg.env, kwargs={**cfg.env.kwargs, **env_kwargs})
    return load_cases(replace(cfg, env=env))
