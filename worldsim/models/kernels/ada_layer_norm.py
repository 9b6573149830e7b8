"""The adaLN block input, LayerNorm (no affine) then per-frame modulation, one Triton kernel each
way.

y = LN(x) * (1 + scale) + shift, x (B, F * S, D) and shift, scale (B, F, D). A program takes
CHUNK tokens of one frame. The backward sums shift's and scale's gradients over a frame's tokens
in the same pass that writes x's, a reduction across rows that Inductor ran as a kernel of its
own at a third of the memory bandwidth.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.library import wrap_triton

CHUNK = 64  # a frame's tokens per program
ROWS = 8  # tokens per step of a program's loop


@triton.jit
def _rows(frame, start, tokens, dim, cols, live_cols, CHUNK: tl.constexpr, ROWS: tl.constexpr):
    """ROWS tokens of a frame from `start` within this program's chunk: their rows, which are
    real, the (ROWS, BLOCK_D) mask and element offsets."""
    token = tl.program_id(1) * CHUNK + start + tl.arange(0, ROWS)  # within the frame
    live = token < tokens
    row = frame * tokens + token
    mask = live[:, None] & live_cols[None, :]
    return row, live, mask, row[:, None] * dim + cols[None, :]


@triton.jit
def _ada_layer_norm_forward(
    x,
    shift,
    scale,
    y,
    mean,
    rstd,
    tokens,
    dim,
    eps,
    CHUNK: tl.constexpr,
    ROWS: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    frame = tl.program_id(0).to(tl.int64)  # b * F + f
    cols = tl.arange(0, BLOCK_D)
    live_cols = cols < dim
    gain = 1.0 + tl.load(scale + frame * dim + cols, mask=live_cols, other=0.0).to(tl.float32)
    bias = tl.load(shift + frame * dim + cols, mask=live_cols, other=0.0).to(tl.float32)
    for start in range(0, CHUNK, ROWS):
        row, live, mask, at = _rows(frame, start, tokens, dim, cols, live_cols, CHUNK, ROWS)
        xs = tl.load(x + at, mask=mask, other=0.0).to(tl.float32)  # (ROWS, BLOCK_D)
        mu = tl.sum(xs, 1) / dim
        centred = tl.where(mask, xs - mu[:, None], 0.0)
        # eps cast: Inductor passes it as fp64, which would make the rest fp64 (qk_norm_rope)
        rs = tl.rsqrt(tl.sum(centred * centred, 1) / dim + tl.cast(eps, tl.float32))
        out = centred * rs[:, None] * gain[None, :] + bias[None, :]
        tl.store(y + at, out.to(y.dtype.element_ty), mask=mask)
        tl.store(mean + row, mu, mask=live)
        tl.store(rstd + row, rs, mask=live)


@triton.jit
def _ada_layer_norm_backward(
    d_y,
    x,
    mean,
    rstd,
    scale,
    d_x,
    d_shift,
    d_scale,
    tokens,
    dim,
    chunks,
    CHUNK: tl.constexpr,
    ROWS: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    frame = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_D)
    live_cols = cols < dim
    gain = 1.0 + tl.load(scale + frame * dim + cols, mask=live_cols, other=0.0).to(tl.float32)
    sum_dy = tl.zeros((BLOCK_D,), tl.float32)  # d shift: the output gradient summed over tokens
    sum_dy_xhat = tl.zeros((BLOCK_D,), tl.float32)  # d scale
    for start in range(0, CHUNK, ROWS):
        row, live, mask, at = _rows(frame, start, tokens, dim, cols, live_cols, CHUNK, ROWS)
        dy = tl.load(d_y + at, mask=mask, other=0.0).to(tl.float32)  # (ROWS, BLOCK_D)
        xs = tl.load(x + at, mask=mask, other=0.0).to(tl.float32)
        mu = tl.load(mean + row, mask=live, other=0.0)
        rs = tl.load(rstd + row, mask=live, other=0.0)
        xhat = tl.where(mask, (xs - mu[:, None]) * rs[:, None], 0.0)
        sum_dy += tl.sum(dy, 0)
        sum_dy_xhat += tl.sum(dy * xhat, 0)
        d_xhat = dy * gain[None, :]
        mean_d = tl.sum(d_xhat, 1) / dim
        mean_d_xhat = tl.sum(d_xhat * xhat, 1) / dim
        dx = (d_xhat - mean_d[:, None] - xhat * mean_d_xhat[:, None]) * rs[:, None]
        tl.store(d_x + at, dx.to(d_x.dtype.element_ty), mask=mask)
    share = (frame * chunks + tl.program_id(1)) * dim + cols
    tl.store(d_shift + share, sum_dy, mask=live_cols)
    tl.store(d_scale + share, sum_dy_xhat, mask=live_cols)


def _grid(x: torch.Tensor, frames: int) -> tuple[int, int, int, int]:
    """(frames of the batch, chunks per frame, tokens per frame, width) of x (B, F * S, D)."""
    b, n, dim = x.shape
    tokens = n // frames
    return b * frames, triton.cdiv(tokens, CHUNK), tokens, dim


@torch.library.triton_op("worldsim::ada_layer_norm_forward", mutates_args=())
def ada_layer_norm_forward(
    x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor, frames: int, eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (B, F * S, D), shift, scale (B, F, D) -> y like x, and each token's mean and rstd
    (B * F * S,) fp32 for the backward."""
    x = x.contiguous()
    all_frames, chunks, tokens, dim = _grid(x, frames)
    y = torch.empty_like(x)
    mean = x.new_empty(x.shape[0] * x.shape[1], dtype=torch.float32)
    rstd = torch.empty_like(mean)
    wrap_triton(_ada_layer_norm_forward)[(all_frames, chunks)](
        x,
        shift.contiguous(),
        scale.contiguous(),
        y,
        mean,
        rstd,
        tokens,
        dim,
        eps,
        CHUNK=CHUNK,
        ROWS=ROWS,
        BLOCK_D=triton.next_power_of_2(dim),
    )
    return y, mean, rstd


@torch.library.triton_op("worldsim::ada_layer_norm_backward", mutates_args=())
def ada_layer_norm_backward(
    d_y: torch.Tensor,
    x: torch.Tensor,
    mean: torch.Tensor,
    rstd: torch.Tensor,
    scale: torch.Tensor,
    frames: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradient of y -> those of x, shift and scale (in scale's dtype)."""
    x = x.contiguous()
    all_frames, chunks, tokens, dim = _grid(x, frames)
    d_x = torch.empty_like(x)
    # each program's sums over its tokens (B * F, chunks, D), added up below
    shares = x.new_empty(2, all_frames, chunks, dim, dtype=torch.float32)
    wrap_triton(_ada_layer_norm_backward)[(all_frames, chunks)](
        d_y.contiguous(),
        x,
        mean.contiguous(),
        rstd.contiguous(),
        scale.contiguous(),
        d_x,
        shares[0],
        shares[1],
        tokens,
        dim,
        chunks,
        CHUNK=CHUNK,
        ROWS=ROWS,
        BLOCK_D=triton.next_power_of_2(dim),
    )
    shape = (x.shape[0], frames, dim)
    d_shift, d_scale = (share.sum(1).view(shape).to(scale.dtype) for share in shares)
    return d_x, d_shift, d_scale


def _setup_context(ctx, inputs, output):
    x, shift, scale, frames, eps = inputs
    _, mean, rstd = output
    ctx.save_for_backward(x, mean, rstd, scale)
    ctx.frames = frames


def _backward_rule(ctx, d_y, d_mean, d_rstd):  # mean and rstd are for the backward only
    x, mean, rstd, scale = ctx.saved_tensors
    d_x, d_shift, d_scale = ada_layer_norm_backward(d_y, x, mean, rstd, scale, ctx.frames)
    return d_x, d_shift, d_scale, None, None


ada_layer_norm_forward.register_autograd(_backward_rule, setup_context=_setup_context)


def ada_layer_norm(x, shift, scale, frames: int, eps: float) -> torch.Tensor:
    """x (B, F * S, D), shift and scale (B, F, D) -> LN(x) * (1 + scale) + shift, (B, F * S, D)."""
    return ada_layer_norm_forward(x, shift, scale, frames, eps)[0]
