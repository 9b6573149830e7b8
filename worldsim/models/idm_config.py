"""The inverse dynamics model's knobs (`IDMConfig`), apart from the model: `worldsim eval --help`
and its config errors read them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass

LOSSES = ("mse", "ce")


@dataclass
class IDMConfig:
    """Architecture and training knobs of the inverse dynamics model."""

    action_dim: int = 2  # width of the action vector it predicts
    width: int = 16  # channels of the first conv
    frames: int = 2  # consecutive frames it sees around the action
    after: int = 0  # of them, frames after the one the action led to (momentum shows later)
    loss: str = "mse"  # mse: regress the action vector | ce: classify a one-hot action
    steps: int = 400  # optimiser steps of its training
    batch_size: int = 64  # frame windows per step
    lr: float = 2e-3  # AdamW learning rate
    cosine: bool = False  # decay the learning rate to 0 along a cosine over the steps
    seed: int = 0  # weights and batch order

    def __post_init__(self) -> None:
        if self.loss not in LOSSES or not 0 <= self.after <= self.frames - 2:
            raise ValueError(
                f"IDM loss={self.loss!r}, frames={self.frames}, after={self.after}: choose loss "
                f"in {LOSSES} and 0 <= after <= frames - 2"
            )
