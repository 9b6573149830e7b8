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
    # [period, first, end]: training windows whose first latent frame ends at an env step in
    # [first, end) of each `period` steps are drawn oversample_weight times (Crafter's deep
    # night: [300, 185, 235]); [] = none
    oversample_steps: list[int] = field(default_factory=list)
    oversample_weight: int = 1  # how often each of those windows is drawn (1 = like any other)

    def __post_init__(self) -> None:
        steps = list(self.oversample_steps)
        if steps and not (len(steps) == 3 and 0 <= steps[1] < steps[2] <= steps[0]):
            raise ValueError(
                f"data.oversample_steps={steps} must be [period, first, end] with "
                "0 <= first < end <= period (e.g. [300, 185, 235]), or []"
            )
        if self.oversample_weight < 1:
            raise ValueError(f"data.oversample_weight={self.oversample_weight} must be >= 1")
