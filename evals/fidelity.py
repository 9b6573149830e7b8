"""Fidelity: PSNR, SSIM and LPIPS against the true frames, per horizon step, autoregressive and teacher-forced."""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from evals.corruptions import ALL_CORRUPTIONS
from evals.generate import teacher_forced
from evals.suite import SuiteContext, average

NAME = "fidelity"
PRIMARY = "psnr"
HIGHER_IS_BETTER = True
DETECTS = ALL_CORRUPTIONS  # any pixel change lowers PSNR
PSNR_CAP = 100.0  # dB given to an exact match (PSNR is infinite there)


def _unit(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255


def frame_scores(pred: np.ndarray, true: np.ndarray, lpips=None) -> dict[str, np.ndarray]:
    """Per-frame PSNR (dB, data range 1), SSIM and optionally LPIPS of (T, H, W, 3) uint8 videos."""
    p, t = _unit(pred), _unit(true)
    psnr = peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(p, t, data_range=1.0, reduction="none")
    out = {"psnr": psnr.clamp(max=PSNR_CAP).numpy(), "ssim": ssim.numpy()}
    if lpips is not None:
        with torch.no_grad():
            out["lpips"] = lpips(p * 2 - 1, t * 2 - 1).numpy()
    return out


def evaluate(model, cases, preds, ctx: SuiteContext) -> dict:
    """Autoregressive scores from `preds`; teacher-forced ones from one-step predictions."""
    forced = teacher_forced(model, cases, ctx.batch_size, ctx.device)
    per_case = []
    for case, pred, tf in zip(cases, preds, forced):
        ar, one = (
            frame_scores(pred, case.future, ctx.lpips),
            frame_scores(tf, case.future, ctx.lpips),
        )
        metrics = {k: float(v.mean()) for k, v in ar.items()}
        metrics.update({f"{k}_teacher_forced": float(v.mean()) for k, v in one.items()})
        curves = {
            **{k: v.tolist() for k, v in ar.items()},
            **{f"{k}_teacher_forced": v.tolist() for k, v in one.items()},
        }
        per_case.append({"metrics": metrics, "curves": curves})
    out = average(per_case)
    if ctx.lpips is None:
        out["notes"] = [f"LPIPS unavailable: {ctx.lpips_unavailable}"]
    return out
