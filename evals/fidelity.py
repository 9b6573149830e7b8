"""Fidelity: PSNR, SSIM and LPIPS against the true frames per horizon step, autoregressive and
teacher-forced."""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange

from evals.corruptions import ALL_CORRUPTIONS
from evals.generate import teacher_forced
from evals.suite import SuiteContext, average
from worldsim.data.pixels import pixels_to_unit
from worldsim.metrics import PSNR_CAP, psnr, ssim

NAME = "fidelity"
PRIMARY = "psnr"
HIGHER_IS_BETTER = True
DETECTS = ALL_CORRUPTIONS  # any pixel change lowers PSNR
TRUTH = ()  # truth the cases must hold (eval checks it before any rollout)


def frame_scores(pred: np.ndarray, true: np.ndarray, lpips=None) -> dict[str, np.ndarray]:
    """Per-frame PSNR (dB, capped), SSIM and optionally LPIPS of (T, H, W, 3) uint8 videos."""
    p, t = (rearrange(pixels_to_unit(v), "t h w c -> t c h w") for v in (pred, true))
    out = {"psnr": psnr(p, t).numpy(), "ssim": ssim(p, t).numpy()}
    if lpips is not None:
        with torch.no_grad():
            out["lpips"] = lpips(p, t).numpy()
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
    # ground_truth's frames are the true ones: their PSNR is infinite, reported as the cap
    out["notes"] = [f"psnr of identical frames is reported as its cap, {PSNR_CAP:g} dB"]
    if ctx.lpips is None:
        out["notes"].append(f"LPIPS unavailable: {ctx.lpips_unavailable}")
    return out
