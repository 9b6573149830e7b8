"""A realism critic's head (DMD2, Yin et al. 2024): one logit per sample, "a true frame", read off
a DiT's last-block tokens.

flow.dmd matches the world model to a frozen teacher, which cannot teach what it never learned:
after the hazy contexts that long Crafter rollouts drift into, the teacher makes more haze (game
RESULTS section 49). DMD2 adds a GAN term that brings in the data itself: a classifier on the fake
score's features tells true frames from made ones, and the generator learns to fool it. The head
is small; the fake score's trunk, which it shares, does most of the reading.
"""

from __future__ import annotations

import torch
from torch import nn


class RealismHead(nn.Module):
    """Tokens (B, N, D) -> logits (B,): mean-pooled, normalised, a two-layer MLP."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, 1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pooled = tokens.mean(1).to(self.norm.weight.dtype)  # (B, D)
        return self.mlp(self.norm(pooled)).squeeze(-1)  # (B,)
