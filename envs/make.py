"""Build a worldsim env from its config."""

from __future__ import annotations

import inspect
import numbers
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
    _check_kwarg_types(cfg)
    try:
        return gym.make(cfg.id, width=cfg.width, height=cfg.height, **dict(cfg.kwargs))
    except TypeError as err:
        raise EnvConfigError(
            f"env '{cfg.id}' rejected its config: {err}; check env.kwargs"
        ) from err


def _kwarg_defaults(env_id: str) -> dict[str, Any]:
    """The constructor defaults of a registered env, along its classes' `__init__`s (a subclass
    often passes **kwargs on to its base's physics knobs)."""
    entry = gym.registry[env_id].entry_point
    creator = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    defaults: dict[str, Any] = {}
    for owner in inspect.getmro(creator) if inspect.isclass(creator) else (creator,):
        init = owner.__init__ if inspect.isclass(creator) else owner
        if inspect.isclass(creator) and "__init__" not in vars(owner):
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # a builtin's: nothing to read
            continue
        for p in params:
            if p.default is not inspect.Parameter.empty:
                defaults.setdefault(p.name, p.default)
    return defaults


KINDS = {bool: "true or false", int: "a whole number", str: "a string"}  # else a number


def _check_kwarg_types(cfg: EnvConfig) -> None:
    """env.kwargs are free-form in the config, so their types are checked here, against the
    constructor's defaults: `gravity=abc` builds an env that fails mid-episode with a message
    that names nothing (and after the job has written its record)."""
    defaults = _kwarg_defaults(cfg.id)
    for key, value in cfg.kwargs.items():
        default = defaults.get(key)
        if value is None:  # "none" is the constructor's to judge (render_mode=None)
            continue
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float):  # an int knob takes an int, a float one either
            kinds = numbers.Integral if isinstance(default, int) else numbers.Real  # numpy's too
            ok = isinstance(value, kinds) and not isinstance(value, bool)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:  # no default, None or a list: the constructor's own checks
            continue
        if not ok:
            kind = KINDS[type(default)] if type(default) in KINDS else "a number"
            raise EnvConfigError(
                f"env.kwargs.{key}={value!r} is not {kind}; env '{cfg.id}' takes e.g. "
                f"env.kwargs.{key}={default}"
            )
