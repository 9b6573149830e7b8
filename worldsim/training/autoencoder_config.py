"""The VAE training's loss and optimiser knobs (`LossConfig`, `OptimConfig`) and the LPIPS trunks a
loss may use, apart from the training task: a job's `--help` and its config errors read them without
importing torch or Lightning."""

from __future__ import annotations

from dataclasses import dataclass

PERCEPTUAL = ("alex", "vgg", "none")


@dataclass
class LossConfig:
    """Weights of the VAE loss terms."""

    l1: float = 1.0  # weight of the mean absolute pixel error
    # squared error too: L1 alone stalls on small objects (median of a mostly-background pixel)
    mse: float = 1.0
    # L1 + MSE weigh 1 + this on object pixels (needs the store's truth "instance"); 0: all alike
    object_weight: float = 0.0
    perceptual: str = "alex"  # LPIPS trunk: alex | vgg | none (none: no pretrained weights needed)
    perceptual_weight: float = 1.0  # weight of LPIPS
    perceptual_frames: int = 4  # LPIPS on this many random frames per clip (cost)
    kl_weight: float = 1e-6  # weight of the KL term towards N(0, 1) (kept small)
    adversarial_weight: float = 0.0  # 0 disables the discriminator
    adversarial_start: int = 5000  # generator steps of reconstruction-only warm-up before it
    # (with the discriminator on, trainer.max_steps counts its optimiser steps too)


@dataclass
class OptimConfig:
    """AdamW with linear warm-up; the discriminator shares it."""

    lr: float = 3e-4  # peak learning rate
    betas: tuple[float, float] = (0.9, 0.99)  # AdamW moment decays
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    warmup_steps: int = 200  # steps of linear learning-rate warm-up from 0
    grad_clip: float = 1.0  # clip the gradient norm to this (0: no clipping)
