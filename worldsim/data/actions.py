"""Action vectors of several envs in one batch: each is zero-padded to the widest among them."""

from __future__ import annotations

from typing import Any

import torch


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
