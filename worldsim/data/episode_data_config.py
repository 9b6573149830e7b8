"""Where the episode store is and how its episodes are cut into clips and batched (`DataConfig`,
`ClipConfig`), apart from the data module: a job's `--help` and its config errors read them without
importing torch or Lightning."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ClipConfig:
    """How episodes are cut into clips."""

    lengths: list[int] = field(
        default_factory=lambda: [17]
    )  # several = variable-length clips (bucketed)
    stride: int = 8  # frames between clip starts
    frame_skip: int = 1  # take every k-th frame (lower the frame rate)
    truth_keys: list[str] = field(default_factory=list)  # e.g. [depth, extrinsics, obj_position]


@dataclass
class DataConfig:
    """Where the episodes are and how they are batched."""

    root: str = "data/rollouts"  # the episode store to train on
    roots: list[str] = field(default_factory=list)  # several stores mixed (then `root` is unused)
    clips: ClipConfig = field(default_factory=ClipConfig)
    val_fraction: float = 0.1  # share of episodes held out (by a hash of the name)
    batch_size: int = 8  # clips per batch (per device)
    num_workers: int = 0  # DataLoader worker processes (0: load in the training process)
    seed: int = 0  # seed of the clip order and of the held-out split
