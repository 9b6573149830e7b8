"""Stability: does a long autoregressive rollout keep the truth's colours, contrast and motion?

Collapse shows late: generated frames drift to a flat colour, wash out (contrast ratio < 1),
saturate, freeze (motion ratio -> 0) or flicker (motion ratio >> 1). Each is measured over the
last `TAIL` frames against the true frames; the colour-histogram distance per frame is the
primary (total variation between per-channel histograms: 0 identical, 1 disjoint).
"""

from __future__ import annotations

import numpy as np
import torch

from evals.model import to_model_frames
from evals.suite import SuiteContext, nanmean
from worldsim.metrics import psnr

NAME = "stability"
PRIMARY = "histogram_distance"
HIGHER_IS_BETTER = False
DETECTS = ()  # the corrupted replays move objects, not the colour statistics of a frame
TRUTH = ()  # truth the cases must hold (eval checks it before any rollout)
TAIL = 64  # last frames of the horizon that the ratios are taken over
HIST_BINS = 16  # per colour channel
SATURATED = 0.99  # |pixel| above this (model range [-1, 1]) counts as saturated


def colour_histograms(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, 3, HIST_BINS) per-channel histograms, each summing to 1."""
    t, h, w, c = frames.shape
    bins = frames.astype(np.int64) * HIST_BINS // 256 + np.arange(c) * HIST_BINS  # (T, H, W, 3)
    index = bins.reshape(t, -1) + (np.arange(t) * c * HIST_BINS)[:, None]
    counts = np.bincount(index.ravel(), minlength=t * c * HIST_BINS)
    return counts.reshape(t, c, HIST_BINS) / (h * w)


def histogram_distance(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per frame, total variation between the colour histograms of two (T, H, W, 3) videos."""
    gap = np.abs(colour_histograms(pred) - colour_histograms(true)).sum(-1) / 2  # (T, 3)
    return gap.mean(-1)


def _contrast(video: torch.Tensor) -> torch.Tensor:
    return video.flatten(-3).std(-1)  # (B, T): spatial spread of each frame


def _motion(video: torch.Tensor) -> torch.Tensor:
    return (video[:, 1:] - video[:, :-1]).abs().mean(dim=(-3, -2, -1))  # (B, T - 1)


def evaluate(model, cases, preds, ctx: SuiteContext) -> dict:
    """Ratios pooled over every case's last `TAIL` frames; per-frame curves averaged over cases."""
    out = to_model_frames(np.stack(preds))  # (B, T, C, H, W) in [-1, 1]
    truth = to_model_frames(np.stack([c.future for c in cases]))
    tail = slice(-min(TAIL, out.shape[1]), None)
    hist = np.stack([histogram_distance(p, c.future) for p, c in zip(preds, cases)])  # (B, T)
    colour = (out[:, tail].mean(dim=(-2, -1)) - truth[:, tail].mean(dim=(-2, -1))).abs()
    metrics = {
        "histogram_distance": float(hist[:, tail].mean()),
        "contrast_ratio": float(_contrast(out)[:, tail].mean() / _contrast(truth)[:, tail].mean()),
        "motion_ratio": float(
            _motion(out[:, tail]).mean() / _motion(truth[:, tail]).mean().clamp(min=1e-6)
        ),
        "mean_colour_error": float(colour.mean()),
        "saturated_fraction": float((out.abs() > SATURATED).float().mean()),
        "truth_saturated_fraction": float((truth.abs() > SATURATED).float().mean()),
    }
    curves = {
        "psnr": nanmean(psnr(out, truth).numpy(), axis=0).tolist(),
        "histogram_distance": hist.mean(0).tolist(),
        "contrast_ratio": (_contrast(out) / _contrast(truth).clamp(min=1e-6)).mean(0).tolist(),
    }
    return {"metrics": metrics, "curves": curves}
