"""Inverse dynamics model: consecutive frames -> the action executed before the last one.

A small CNN on (frame t-1, and the differences of the `frames` consecutive frames ending at t),
trained on rollouts. Continuous codecs regress the action vector (MSE); a one-hot codec may be
classified instead (`loss="ce"`, read back as probabilities, so `codec.decode` takes their
argmax). More than two frames let it see the velocity an action changes (MuJoCo's agent
carries momentum from the previous action). Used by the control eval to read actions off
generated video and by `worldsim control` to read a plan off imagined frames.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from torch import nn
from tqdm import tqdm

from worldsim.data.pixels import pixels_to_unit
from worldsim.data.record import phase_bar
from worldsim.models.checkpoint import write_checkpoint
from worldsim.models.idm_config import IDMConfig


class InverseDynamics(nn.Module):
    """(B, K, H, W, 3) uint8 runs of K consecutive frames -> (B, A) the action that led to
    frame K - 1 - after of the run."""

    def __init__(self, cfg: IDMConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.net = nn.Sequential(
            nn.Conv2d(3 * cfg.frames, w, 3, 2, 1),
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

    def forward(self, runs: torch.Tensor) -> torch.Tensor:
        x = rearrange(pixels_to_unit(runs), "b k h w c -> b k c h w")
        steps = x[:, 1:] - x[:, :-1]  # (B, K - 1, C, H, W)
        before = x[:, -2 - self.cfg.after]  # the frame the action was taken in
        return self.net(torch.cat([before, *steps.unbind(1)], 1))  # (B, A)

    @torch.no_grad()
    def read_actions(self, video: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 -> (T - 1, A): the action before each frame after the first
        (probabilities for a classifier); runs reaching past the ends repeat the end frames."""
        index = run_index(len(video), self.cfg.frames, self.cfg.after)[1:]
        runs = torch.from_numpy(np.asarray(video)[index])
        out = self.eval()(runs)  # (T - 1, A)
        return (out.softmax(-1) if self.cfg.loss == "ce" else out).numpy()

    def save(self, path: str | Path) -> None:
        """Write the IDM atomically: a run killed mid-save keeps the previous file."""
        write_checkpoint({"config": asdict(self.cfg), "state_dict": self.state_dict()}, path)


def load_idm(
    path: str | Path, how: str = "give an idm.pt saved by `worldsim eval`"
) -> InverseDynamics:
    """An IDM saved by `InverseDynamics.save`; any other file is a one-line CheckpointError
    naming it and `how` to get one."""
    from worldsim.models.checkpoint import CheckpointError, read_checkpoint

    ckpt = read_checkpoint(path, path, "control IDM", how, ("config",), weights_only=True)
    try:
        cfg = IDMConfig(**ckpt["config"])
    except TypeError as err:  # a field this version lacks: another version (or kind) wrote it
        raise CheckpointError(f"{path} is not an IDM this version reads ({err}); {how}") from err
    model = InverseDynamics(cfg)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def run_index(length: int, frames: int, after: int = 0) -> np.ndarray:
    """(length, frames) frame indices of the run around each frame t (t - frames + 1 + after ..
    t + after), clipped to the episode."""
    offsets = np.arange(1 - frames + after, 1 + after)
    return np.clip(np.arange(length)[:, None] + offsets[None], 0, length - 1)


def train_idm(
    episodes: list[tuple[np.ndarray, np.ndarray]],
    cfg: IDMConfig,
    progress: bool | tqdm = False,
    device: str = "cpu",
) -> InverseDynamics:
    """Fit an IDM on (frames, actions) episodes with Adam (MSE to the action vectors, or
    cross-entropy to the one-hot action's index); returned on the CPU. `progress`: see
    worldsim.data.record.phase_bar."""
    torch.manual_seed(cfg.seed)
    frames = torch.from_numpy(np.concatenate([f for f, _ in episodes])).to(device)  # (N, H, W, 3)
    actions = torch.from_numpy(np.concatenate([a for _, a in episodes])).float().to(device)
    starts = np.cumsum([0] + [len(f) for f, _ in episodes])
    runs = torch.from_numpy(  # (M, K) frame indices of every run ending after an action
        np.concatenate(
            [
                s + run_index(e - s, cfg.frames, cfg.after)[1:]
                for s, e in zip(starts[:-1], starts[1:])
            ]
        )
    )
    model = InverseDynamics(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 + 0.5 * np.cos(np.pi * step / cfg.steps) if cfg.cosine else 1.0
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    with phase_bar(progress, cfg.steps, desc="train IDM", unit="step") as bar:
        for _ in range(cfg.steps):
            idx = runs[torch.randint(0, len(runs), (cfg.batch_size,), generator=gen)].to(device)
            pred, target = model(frames[idx]), actions[idx[:, -1]]
            if cfg.loss == "ce":
                loss = nn.functional.cross_entropy(pred, target.argmax(-1))
            else:
                loss = nn.functional.mse_loss(pred, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
    return model.cpu().eval()
