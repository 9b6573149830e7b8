"""Inverse dynamics model: two consecutive frames -> the action executed between them.

A small CNN on (frame t-1, frame t - frame t-1), regressing the codec's action vector
(MSE; a one-hot codec is read back by argmax). Trained on rollouts, used by the control
eval to read actions off generated video.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from torch import nn

from worldsim.data.pixels import pixels_to_unit


@dataclass
class IDMConfig:
    """Architecture and training knobs of the inverse dynamics model."""

    action_dim: int = 2
    width: int = 16  # channels of the first conv
    steps: int = 400
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0


class InverseDynamics(nn.Module):
    """(B, 2, H, W, 3) uint8 frame pairs -> (B, A) predicted actions."""

    def __init__(self, cfg: IDMConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.net = nn.Sequential(
            nn.Conv2d(6, w, 3, 2, 1),
            nn.SiLU(),
            nn.Conv2d(w, 2 * w, 3, 2, 1),
            nn.SiLU(),
            nn.Conv2d(2 * w, 2 * w, 3, 2, 1),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(8 * w, 4 * w),
            nn.SiLU(),
            nn.Linear(4 * w, cfg.action_dim),
        )

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        x = rearrange(pixels_to_unit(pairs), "b k h w c -> b k c h w")
        return self.net(torch.cat([x[:, 0], x[:, 1] - x[:, 0]], 1))  # (B, A)

    @torch.no_grad()
    def read_actions(self, video: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 -> (T - 1, A): the action before each frame after the first."""
        pairs = torch.from_numpy(np.stack([video[:-1], video[1:]], 1))  # (T - 1, 2, H, W, 3)
        return self.eval()(pairs).numpy()

    def save(self, path: str | Path) -> None:
        torch.save({"config": asdict(self.cfg), "state_dict": self.state_dict()}, path)


def load_idm(path: str | Path) -> InverseDynamics:
    """An IDM saved by `InverseDynamics.save`."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = InverseDynamics(IDMConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def frame_pairs(frames: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An episode's (T, H, W, 3) frames and (T, A) actions -> pairs and their actions.

    Pairs (T-1, 2, H, W, 3) of consecutive frames; actions (T-1, A), each the one between the two.
    """
    return np.stack([frames[:-1], frames[1:]], 1), actions[1:]


def train_idm(
    episodes: list[tuple[np.ndarray, np.ndarray]], cfg: IDMConfig, progress: bool = False
) -> InverseDynamics:
    """Fit an IDM on (frames, actions) episodes with Adam on the MSE to the action vectors."""
    from tqdm import tqdm

    torch.manual_seed(cfg.seed)
    pairs, acts = zip(*(frame_pairs(f, a) for f, a in episodes))
    x, y = torch.from_numpy(np.concatenate(pairs)), torch.from_numpy(np.concatenate(acts)).float()
    model = InverseDynamics(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    for _ in tqdm(range(cfg.steps), desc="train IDM", disable=not progress):
        idx = torch.randint(0, len(x), (cfg.batch_size,), generator=gen)
        loss = nn.functional.mse_loss(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()
