"""Camera follows actions: does the generated view turn the way the commands say?

The horizontal image shift over `SHIFT_GAP` frames (phase correlation, within +-`MAX_SHIFT` px;
the per-frame motion is often under a pixel) is correlated with the yaw command of those frames
and with the true frames' shift. The rollout is repeated under negated, zero and another case's
actions (`evals.generate.shuffled_actions`, as in the control suite): a model that follows its
actions loses PSNR and flips or loses the shift under them.
"""

from __future__ import annotations

import numpy as np
import torch

from evals.generate import autoregressive, shuffled_actions
from evals.model import to_model_frames
from evals.suite import SuiteContext
from worldsim.metrics import psnr

NAME = "camera"
PRIMARY = "shift_vs_truth_shift_corr"
HIGHER_IS_BETTER = True
DETECTS = ()  # the corrupted replays keep the true camera path
TRUTH = ()  # truth the cases must hold (eval checks it before any rollout)
SHIFT_GAP = 4  # frames per measured shift (one latent frame of the 4x temporal VAE)
MAX_SHIFT = 8  # px searched either way
YAW = 0  # the action component that turns the camera (MuJoCo Orbit's yaw command)
# Gaussian weight (std in cycles/px) on the whitened cross-spectrum of `image_shift`: a VAE's
# decoder leaves a faint fixed-to-the-grid pattern that whitening lifts to equal weight with the
# scene, pinning the peak at 0 on decoded frames (section 10 of the game RESULTS)
LOWPASS = 0.08


def phase_correlation(video: torch.Tensor, gap: int = 1, lowpass: float = 0.0) -> torch.Tensor:
    """(T, C, H, W) -> (T - gap, H, W) phase correlation of each frame with the one `gap` later,
    on grey: its peak sits at the (dy, dx) translation between them (indices wrap around).
    `lowpass` > 0 weighs the whitened spectrum by a Gaussian of that std (cycles/px)."""
    gray = video.float().mean(dim=-3)  # (T, H, W)
    gray = gray - gray.mean(dim=(-2, -1), keepdim=True)
    a, b = torch.fft.rfft2(gray[:-gap]), torch.fft.rfft2(gray[gap:])
    cross = b * a.conj()
    cross = cross / cross.abs().clamp(min=1e-8)  # (T - gap, H, W // 2 + 1)
    if lowpass:
        fy = torch.fft.fftfreq(gray.shape[-2])[:, None]
        fx = torch.fft.rfftfreq(gray.shape[-1])[None]
        cross = cross * torch.exp(-(fy**2 + fx**2) / (2 * lowpass**2))
    return torch.fft.irfft2(cross, s=gray.shape[-2:])


def x_shift(video: torch.Tensor, gap: int = SHIFT_GAP, most: int = MAX_SHIFT) -> torch.Tensor:
    """(T, C, H, W) -> (T - gap,) horizontal translation in px from frame t to t + gap."""
    corr = phase_correlation(video, gap).mean(dim=-2)  # (T - gap, W)
    window = torch.cat([corr[:, -most:], corr[:, : most + 1]], dim=-1)  # shifts -most .. most
    return window.argmax(dim=-1).float() - most


def image_shift(
    video: torch.Tensor, most: int = MAX_SHIFT, lowpass: float = LOWPASS
) -> torch.Tensor:
    """(T, C, H, W) -> (T - 1, 2) integer (dy, dx) translation in px from each frame to the next:
    the peak of the whole 2D phase correlation within +-`most` px, low-passed (`LOWPASS`) so that
    it reads decoded frames too. Unlike `x_shift`'s row-mean, it holds for motion along both axes
    at once and for whole-cell jumps (Crafter's 7 px)."""
    n = 2 * most + 1
    corr = phase_correlation(video, lowpass=lowpass)  # (T - 1, H, W)
    window = torch.roll(corr, (most, most), dims=(-2, -1))[:, :n, :n]
    peak = window.flatten(1).argmax(dim=1)  # (T - 1,): shifts -most .. most on each axis
    return torch.stack([peak // n, peak % n], dim=1) - most


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two equally long vectors (0 when either is constant)."""
    a, b = a.float() - a.float().mean(), b.float() - b.float().mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp(min=1e-8))


def shifts(videos: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) -> every case's shifts, concatenated."""
    return torch.cat([x_shift(v) for v in videos])


def evaluate(model, cases, preds, ctx: SuiteContext) -> dict:
    """PSNR and shift correlations under the true, negated, zero and another case's actions."""
    truth = to_model_frames(np.stack([c.future for c in cases]))  # (B, T, C, H, W)
    yaw = torch.from_numpy(np.stack([c.actions[c.context :, YAW] for c in cases]))  # (B, T)
    yaw_windows = torch.cat([y[1:].unfold(0, SHIFT_GAP, 1).sum(-1) for y in yaw])
    truth_shift = shifts(truth)
    metrics = {
        "truth_shift_vs_yaw_corr": correlation(truth_shift, yaw_windows),
        "truth_mean_abs_shift_px": float(truth_shift.abs().mean()),
    }
    variants = {
        "": preds,
        "negated_": [-c.actions for c in cases],
        "zero_": [np.zeros_like(c.actions) for c in cases],
        "shuffled_": shuffled_actions(cases),
    }
    for prefix, given in variants.items():
        if prefix:
            given = autoregressive(model, cases, ctx.batch_size, ctx.device, actions=given)
        out = to_model_frames(np.stack(given))
        shift = shifts(out)
        metrics[f"{prefix}psnr"] = float(psnr(out, truth).mean())
        metrics[f"{prefix}shift_vs_yaw_corr"] = correlation(shift, yaw_windows)
        metrics[f"{prefix}shift_vs_truth_shift_corr"] = correlation(shift, truth_shift)
        metrics[f"{prefix}mean_abs_shift_px"] = float(shift.abs().mean())
    return {"metrics": metrics, "curves": {}}
