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
    # [period, first, end, ...]: training windows whose first latent frame ends at an env step
    # in [first, end) of each `period` steps are drawn oversample_weight times (Crafter's deep
    # night: [300, 185, 235]); more triples add more ranges (a window in any is drawn so: with
    # 1001, 300, 1001 every window after the first day of 1,001-step episodes); [] = none
    oversample_steps: list[int] = field(default_factory=list)
    oversample_weight: int = 1  # how often each of those windows is drawn (1 = like any other)

    def __post_init__(self) -> None:
        steps = list(self.oversample_steps)
        triples = [steps[i : i + 3] for i in range(0, len(steps), 3)]
        if len(steps) % 3 or not all(0 <= first < end <= period for period, first, end in triples):
            raise ValueError(
                f"data.oversample_steps={steps} must be [period, first, end] triples with "
                "0 <= first < end <= period (e.g. [300, 185, 235] or [300, 200, 280, 1001, 300, "
                "1001]), or []"
            )
        if self.oversample_weight < 1:
            raise ValueError(f"data.oversample_weight={self.oversample_weight} must be >= 1")
