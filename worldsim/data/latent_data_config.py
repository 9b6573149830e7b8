"""Where the latent cache is and how it is cut and batched (`LatentDataConfig`), apart from the
data module: a job's `--help` and its config errors read it without importing torch or Lightning."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LatentDataConfig:
    """Where the latent cache is and how it is cut and batched."""

    roots: list[str] = field(
        default_factory=lambda: ["data/latents"]
    )  # several caches of one VAE mix
    lengths: list[int] = field(
        default_factory=lambda: [8]
    )  # latent frames per window; several = buckets
    stride: int = 2  # latent frames between window starts
    val_fraction: float = 0.1  # share of episodes held out for validation (by a hash of the name)
    batch_size: int = 16  # windows per batch (per GPU)
    num_workers: int = 0  # loader processes (0 = in the training process)
    seed: int = 0  # validation split and batch order
    resident: bool = False  # training windows held on the accelerator, gathered by index
