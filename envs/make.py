"""Build a worldsim env from its config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


class EnvConfigError(ValueError):
    """An env config naming no registered env, or one its constructor rejects; one line."""


@dataclass
class EnvConfig:
    """Which env to build and how; `kwargs` go to its constructor (physics knobs, scenario...)."""

    id: str = "worldsim/MujocoBounce-v0"  # a registered Gymnasium id (the README's env table)
    width: int = 64  # frame width in pixels (frames and truth are resized together)
    height: int = 64  # frame height in pixels
    kwargs: dict[str, Any] = field(
        default_factory=dict
    )  # passed to the env's constructor (physics knobs, scenario, action_mode, task...)


def make_env(cfg: EnvConfig) -> gym.Env:
    """`gymnasium.make` with the resolution and kwargs of `cfg`, errors turned into one line.

    The ids are registered: importing this module first runs `envs/__init__.py`, which does it.
    """
    if cfg.id not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("worldsim/"))
        raise EnvConfigError(f"unknown env.id '{cfg.id}'; worldsim envs: {', '.join(known)}")
    try:
        return gym.make(cfg.id, width=cfg.width, height=cfg.height, **dict(cfg.kwargs))
    except TypeError as err:
        raise EnvConfigError(
            f"env '{cfg.id}' rejected its config: {err}; check env.kwargs"
        ) from err
