"""Image metrics per frame, pure functions shared by training, the evals and the experiments."""

from __future__ import annotations

import torch
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

PSNR_CAP = 100.0  # dB given to an exact match (PSNR is infinite there)


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """PSNR in dB per frame of x, y (..., C, H, W); data_range 2 for [-1, 1], at most PSNR_CAP."""
    mse = ((x.float() - y.float()) / data_range).pow(2).flatten(-3).mean(-1)
    return _db(mse)


def masked_psnr(
    x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, data_range: float = 2.0
) -> torch.Tensor:
    """PSNR in dB of x, y (..., C, H, W) over the pixels `mask` (..., 1, H, W), bool, marks: one
    number pooling every marked pixel and channel of every frame (a frame's few marked pixels are
    too few for a PSNR of their own); at most PSNR_CAP, NaN if the mask marks no pixel."""
    se = ((x.float() - y.float()) / data_range).pow(2)  # (..., C, H, W)
    return _db(se[mask.expand_as(se)].mean())


def _db(mse: torch.Tensor) -> torch.Tensor:
    """-10 log10 of a mean squared error on the [0, 1] scale, capped at PSNR_CAP."""
    return -10 * torch.log10(mse.clamp_min(10 ** (-PSNR_CAP / 10)))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (Gaussian window 11, sigma 1.5) per frame of x, y (N, C, H, W) in [-1, 1]."""
    with torch.autocast(x.device.type, enabled=False):  # E[x^2] - E[x]^2 in bf16 cancels to noise
        return tm_ssim((x.float() + 1) / 2, (y.float() + 1) / 2, data_range=1.0, reduction="none")
