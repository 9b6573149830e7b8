"""Registering a family of worldsim env ids with Gymnasium (one call per simulator package)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym


def register_family(
    prefix: str, entry_point: str, variants: dict[str, dict[str, Any]], **options: Any
) -> None:
    """Register `worldsim/<prefix><suffix>-v0` -> `entry_point(**kwargs)` for each suffix -> kwargs
    of `variants`; `options` go to gym.register (e.g. max_episode_steps). Ids already there stay."""
    for suffix, kwargs in variants.items():
        env_id = f"worldsim/{prefix}{suffix}-v0"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs, **options)
