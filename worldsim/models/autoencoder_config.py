"""The VAE's shape (`AutoencoderConfig`) and the check that its factors fit its levels, apart from
the network: a job's `--help` and its config errors read them without importing torch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# how long videos are cut into chunks, not what the weights are: two VAEs that differ only here
# encode and decode alike (the causal cache makes chunking exact)
CHUNKING = ("encode_chunk", "decode_chunk")


@dataclass
class AutoencoderConfig:
    """Shape of the VAE; `channel_mult` has one entry per resolution level."""

    in_channels: int = 3  # RGB
    latent_channels: int = 16  # channels of the latent (what the DiT models)
    base_channels: int = 64  # channels at full resolution (times channel_mult deeper)
    channel_mult: list[int] = field(
        default_factory=lambda: [1, 2, 2]
    )  # channel multiplier per resolution level (enough levels for space_factor)
    num_res_blocks: int = 1  # residual blocks per resolution level
    time_factor: int = 4  # frames per latent frame (after the first, encoded alone)
    space_factor: int = 4  # pixels per latent pixel along each side (4 or 8)
    norm_groups: int = 16  # GroupNorm groups (must divide every level's channels)
    encode_chunk: int = (
        16  # frames per chunk after the first when encoding long videos (multiple of time_factor)
    )
    decode_chunk: int = 4  # latent frames per chunk after the first when decoding long videos

    def __post_init__(self) -> None:
        downsampling_levels(self)  # a shape the factors do not fit fails where the config is built


def downsampling_levels(cfg: AutoencoderConfig) -> list[tuple[bool, bool]]:
    """(space, time) downsampling after each level but the last; time at the deepest levels."""
    n = len(cfg.channel_mult) - 1
    s, t = int(math.log2(cfg.space_factor)), int(math.log2(cfg.time_factor))
    if 2**s != cfg.space_factor or 2**t != cfg.time_factor or max(s, t) > n:
        raise ValueError(
            f"space_factor={cfg.space_factor} and time_factor={cfg.time_factor} must be powers of "
            f"2 with at most len(channel_mult)-1 = {n} halvings; add channel_mult levels"
        )
    return [(i < s, i >= n - t) for i in range(n)]
