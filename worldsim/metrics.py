"""Image metrics per frame, pure functions shared by training, the evals and the experiments."""

from __future__ import annotations

import torch
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

PSNR_CAP = 100.0  # dB given to an exact match (PSNR is infinite there)


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """PSNR in dB per frame of x, y (..., C, H, W); data_range 2 for [-1, 1], at most PSNR_CAP."""
    mse = ((x.float() - y.float()) / data_range).pow(2).flatten(-3).mean(-1)
    return -10 * torch.log10(mse.clamp_min(10 ** (-PSNR_CAP / 10)))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (Gaussian window 11, sigma 1.5) per frame of x, y (N, C, H, W) in [-1, 1]."""
    with torch.autocast(x.device.type, enabled=False):  # E[x^2] - E[x]^2 in bf16 cancels to noise
        return tm_ssim((x.float() + 1) / 2, (y.float() + 1) / 2, data_range=1.0, reduction="none")
