"""Action vectors of several envs in one batch: each is zero-padded to the widest among them."""

from __future__ import annotations

from typing import Any

import torch

from worldsim.config import ConfigError
from worldsim.models.pretrained import check_trained_env


def action_width(cache: Any, names: list[str]) -> int:
    """Widest action vector among episodes (envs differ; narrower ones are zero-padded to it)."""
    return max(int(cache.load(n).actions.shape[-1]) for n in names)


def pad_actions(actions: torch.Tensor, width: int) -> torch.Tensor:
    """Zero-pad (..., A) codec vectors to (..., width); a one-hot no-op at index 0 stays a no-op."""
    if actions.shape[-1] > width:
        raise ValueError(
            f"actions of width {actions.shape[-1]} exceed the model's {width}; "
            "this env was not in the training data"
        )
    return torch.nn.functional.pad(actions, (0, width - actions.shape[-1]))


def check_action_width(module: Any, width: int, model: str, env_id: str) -> None:
    """Refuse, before any work, an env whose codec gives `width` action values per frame to a
    world model (`module`) that takes fewer: `pad_actions` would fail mid-run. Narrower ones are
    zero-padded, as in training; a model without actions takes any env. A shipped model is
    refused on another game's env first (`check_trained_env`)."""
    check_trained_env(model, env_id)
    takes = module.model_cfg.action_dim // module.latent_info.time_factor
    if module.model_cfg.action_dim and width > takes:
        raise ConfigError(
            f"model={model} takes {takes} action values per frame but env.id={env_id} gives "
            f"{width}; use an env it was trained on"
        )


def check_env_actions(module: Any, env: Any, model: str) -> int:
    """`check_action_width` for the env that config `env` (an EnvConfig) builds, made once to read
    its codec; returns that codec's width."""
    from envs.make import make_env

    made = make_env(env)
    width = made.unwrapped.action_codec.dim
    made.close()
    check_action_width(module, width, model, env.id)
    return width
