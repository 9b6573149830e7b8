"""The DiT's shape (`DiTConfig`), apart from the network: a job's `--help` and its config errors
read it without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DiTConfig:
    """Shape of the DiT; sizes S/B/L are presets in configs/model/dit_{s,b,l}.yaml."""

    latent_channels: int = 8  # set from the latent cache by `worldsim train`
    patch: tuple[int, int, int] = (1, 2, 2)  # (pt, ph, pw)
    dim: int = 384  # token width
    depth: int = 12  # transformer blocks
    heads: int = 6  # attention heads (dim must divide by it)
    mlp_ratio: float = 4.0  # MLP hidden width / dim
    action_dim: int = (
        0  # per-latent-frame action vector size (time_factor * codec dim); 0 = no actions
    )
    text_dim: int = 0  # text encoder width; 0 = no text conditioning
    # env steps of the game's day (Crafter 300): each latent frame is told its step's phase in
    # it, and every call must pass the clock; 0 = no clock
    clock_period: int = 0
    # env steps: the actions also carry, per frame, how long ago each action value was last
    # taken (log scale, up to this many steps; Crafter's sleep lasts about 90); 0 = not told
    action_ages: int = 0
    attention: str = "full"  # full | causal (a token frame sees only itself and earlier frames)
    backend: str = "sdpa"  # sdpa | flex (FlexAttention block masks, compiled; CUDA)
    qk_norm: bool = True  # RMS-normalise queries and keys (stable attention logits)
    rope_theta: float = 10000.0  # base period of the 3D rotary positions
    checkpointing: bool = False  # activation checkpointing of every block while training
    fused_kernels: bool = False  # on CUDA, Triton kernels for QK-norm+RoPE and adaLN's LayerNorm

    def __post_init__(self) -> None:
        if self.dim % self.heads:
            raise ValueError(f"dim={self.dim} does not divide into heads={self.heads}")
        if self.action_ages < 0:
            raise ValueError(f"action_ages={self.action_ages} must be >= 0 (0: not told)")
