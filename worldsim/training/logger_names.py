"""The `logger=` knob's names and its check, apart from Lightning's loggers: a job's `--help` and
its config errors read them without importing torch or Lightning."""

from __future__ import annotations

import importlib.util

from worldsim.config import ConfigError

LOGGERS = ("tensorboard", "csv", "wandb")


def check_logger(name: str) -> None:
    """A one-line ConfigError for an unknown logger, or one whose package is not installed."""
    if name not in LOGGERS:
        raise ConfigError(f"logger='{name}' is unknown; choose one of {', '.join(LOGGERS)}")
    packages = {"tensorboard": ("tensorboardX", "tensorboard"), "wandb": ("wandb",)}
    needed = packages.get(name, ())
    if needed and not any(importlib.util.find_spec(p) for p in needed):
        raise ConfigError(
            f"logger={name} needs the {needed[0]} package: `pip install {needed[0]}`, "
            "or choose logger=csv"
        )
