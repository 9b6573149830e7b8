"""QK-norm and 3D RoPE of self-attention as one Triton kernel each way.

Forward: the qkv projection (B, N, 3 * heads * head_dim) -> q, k, v (B, heads, N, head_dim) in
attention's layout; q and k RMS-normalised with their gains, then their channel pairs rotated by
RoPE's tables (N, head_dim / 2); v copied. Backward: the gradients of q, k and v -> the
projection's gradient whole, and the two gains'. The math is `SelfAttention`'s PyTorch path
(`RMSNorm`, then `apply_rope`), in fp32 inside and rounded once to the projection's dtype.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.library import wrap_triton

ROWS = 32  # (token, head) rows per program


@triton.jit
def _load_pairs(ptr, offsets, mask, ROWS: tl.constexpr, HEAD_DIM: tl.constexpr):
    """Rows of head_dim channels at ptr + offsets (ROWS,) -> even and odd channels, fp32."""
    cols = tl.arange(0, HEAD_DIM)
    tile = tl.load(ptr + offsets[:, None] + cols[None, :], mask=mask, other=0.0).to(tl.float32)
    return tl.split(tl.reshape(tile, (ROWS, HEAD_DIM // 2, 2)))


@triton.jit
def _store_pairs(ptr, offsets, even, odd, mask, ROWS: tl.constexpr, HEAD_DIM: tl.constexpr):
    """Interleave even and odd channels (ROWS, head_dim / 2) back into rows at ptr + offsets."""
    cols = tl.arange(0, HEAD_DIM)
    tile = tl.reshape(tl.join(even, odd), (ROWS, HEAD_DIM))
    tl.store(ptr + offsets[:, None] + cols[None, :], tile.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def _row_offsets(total_rows, n_tokens, heads, ROWS: tl.constexpr, HEAD_DIM: tl.constexpr):
    """This program's rows, ordered (b, n, h): their q offsets in the projection (B, N, 3, H, D),
    their offsets in attention's (B, H, N, D), their token n, and which rows are real."""
    rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    h = rows % heads
    token = rows // heads  # b * N + n
    n = token % n_tokens
    b = token // n_tokens
    projection = (token * 3 * heads + h) * HEAD_DIM
    attention = ((b * heads + h) * n_tokens + n) * HEAD_DIM
    return projection, attention, n, rows < total_rows


@triton.jit
def _inverse_rms(x1, x2, eps, HEAD_DIM: tl.constexpr):
    """1 / RMS of rows split in pairs (ROWS, head_dim / 2) each -> (ROWS,), fp32.

    eps is cast: Triton's own launch passes a Python float as fp32, Inductor's as fp64, and an
    fp64 eps made every op after it fp64, which ran these kernels up to 1.8x slower inside
    torch.compile (benchmarks/README, session 35)."""
    return tl.rsqrt((tl.sum(x1 * x1, 1) + tl.sum(x2 * x2, 1)) / HEAD_DIM + tl.cast(eps, tl.float32))


@triton.jit
def _norm_rope(
    qkv, src, gain, out, dst, c, s, mask, eps, ROWS: tl.constexpr, HEAD_DIM: tl.constexpr
):
    """q or k: rows of the projection at src -> normalised, gained, rotated rows of out at dst."""
    g1, g2 = tl.split(tl.reshape(tl.load(gain + tl.arange(0, HEAD_DIM)), (HEAD_DIM // 2, 2)))
    x1, x2 = _load_pairs(qkv, src, mask, ROWS, HEAD_DIM)
    rms = _inverse_rms(x1, x2, eps, HEAD_DIM)
    y1 = x1 * rms[:, None] * g1.to(tl.float32)[None, :]
    y2 = x2 * rms[:, None] * g2.to(tl.float32)[None, :]
    _store_pairs(out, dst, y1 * c - y2 * s, y1 * s + y2 * c, mask, ROWS, HEAD_DIM)


@triton.jit
def _norm_rope_backward(
    grad_out,
    dst,
    qkv,
    src,
    gain,
    grad_gain,
    d_qkv,
    c,
    s,
    mask,
    eps,
    ROWS: tl.constexpr,
    HEAD_DIM: tl.constexpr,
):
    """q or k: the gradient of its rows at dst -> the projection's rows at src, and this
    program's share of the gain's gradient (row program_id of grad_gain)."""
    half: tl.constexpr = HEAD_DIM // 2
    g1, g2 = tl.split(tl.reshape(tl.load(gain + tl.arange(0, HEAD_DIM)), (half, 2)))
    o1, o2 = _load_pairs(grad_out, dst, mask, ROWS, HEAD_DIM)
    dy1 = o1 * c + o2 * s  # the rotation transposed: the gradient of the gained rows
    dy2 = o2 * c - o1 * s
    x1, x2 = _load_pairs(qkv, src, mask, ROWS, HEAD_DIM)
    rms = _inverse_rms(x1, x2, eps, HEAD_DIM)
    xh1, xh2 = x1 * rms[:, None], x2 * rms[:, None]  # the normalised rows
    share = grad_gain + tl.program_id(0).to(tl.int64) * HEAD_DIM + 2 * tl.arange(0, half)
    tl.store(share, tl.sum(dy1 * xh1, 0))
    tl.store(share + 1, tl.sum(dy2 * xh2, 0))
    d1 = dy1 * g1.to(tl.float32)[None, :]
    d2 = dy2 * g2.to(tl.float32)[None, :]
    mean = (tl.sum(d1 * xh1, 1) + tl.sum(d2 * xh2, 1)) / HEAD_DIM
    dx1 = (d1 - xh1 * mean[:, None]) * rms[:, None]
    dx2 = (d2 - xh2 * mean[:, None]) * rms[:, None]
    _store_pairs(d_qkv, src, dx1, dx2, mask, ROWS, HEAD_DIM)


@triton.jit
def _tables(cos, sin, n, mask, HEAD_DIM: tl.constexpr):
    """RoPE's cos and sin (ROWS, head_dim / 2) at the rows' tokens n, fp32.

    Loaded apart from the rows' offsets, never by a helper that returns both: torch.compile reads
    which tensors a kernel writes off its stores' addresses, and through such a helper the tables
    looked written too, so compiled graphs cloned them and skipped CUDA graphs for a written
    input (benchmarks/README, session 34)."""
    half: tl.constexpr = HEAD_DIM // 2
    pair = n[:, None] * half + tl.arange(0, half)[None, :]
    c = tl.load(cos + pair, mask=mask, other=0.0).to(tl.float32)
    s = tl.load(sin + pair, mask=mask, other=0.0).to(tl.float32)
    return c, s


@triton.jit
def _qk_norm_rope_forward(
    qkv,
    w_q,
    w_k,
    cos,
    sin,
    q,
    k,
    v,
    total_rows,
    n_tokens,
    heads,
    eps,
    HEAD_DIM: tl.constexpr,
    ROWS: tl.constexpr,
):
    src, dst, n, live = _row_offsets(total_rows, n_tokens, heads, ROWS, HEAD_DIM)
    mask = live[:, None]
    c, s = _tables(cos, sin, n, mask, HEAD_DIM)
    width = heads * HEAD_DIM  # q, k and v follow each other in a token's projection
    _norm_rope(qkv, src, w_q, q, dst, c, s, mask, eps, ROWS, HEAD_DIM)
    _norm_rope(qkv, src + width, w_k, k, dst, c, s, mask, eps, ROWS, HEAD_DIM)
    v1, v2 = _load_pairs(qkv, src + 2 * width, mask, ROWS, HEAD_DIM)
    _store_pairs(v, dst, v1, v2, mask, ROWS, HEAD_DIM)


@triton.jit
def _qk_norm_rope_backward(
    d_q,
    d_k,
    d_v,
    qkv,
    w_q,
    w_k,
    cos,
    sin,
    d_qkv,
    d_wq,
    d_wk,
    total_rows,
    n_tokens,
    heads,
    eps,
    HEAD_DIM: tl.constexpr,
    ROWS: tl.constexpr,
):
    src, dst, n, live = _row_offsets(total_rows, n_tokens, heads, ROWS, HEAD_DIM)
    mask = live[:, None]
    c, s = _tables(cos, sin, n, mask, HEAD_DIM)
    width = heads * HEAD_DIM
    _norm_rope_backward(d_q, dst, qkv, src, w_q, d_wq, d_qkv, c, s, mask, eps, ROWS, HEAD_DIM)
    _norm_rope_backward(
        d_k, dst, qkv, src + width, w_k, d_wk, d_qkv, c, s, mask, eps, ROWS, HEAD_DIM
    )
    v1, v2 = _load_pairs(d_v, dst, mask, ROWS, HEAD_DIM)
    _store_pairs(d_qkv, src + 2 * width, v1, v2, mask, ROWS, HEAD_DIM)


def _grid(qkv: torch.Tensor, heads: int) -> tuple[int, int, int, int]:
    """(programs, rows, tokens, head_dim) of a projection (B, N, 3 * heads * head_dim)."""
    b, n, width = qkv.shape
    rows = b * n * heads
    return triton.cdiv(rows, ROWS), rows, n, width // (3 * heads)


@torch.library.triton_op("worldsim::qk_norm_rope", mutates_args=())
def qk_norm_rope(
    qkv: torch.Tensor,
    w_q: torch.Tensor,
    w_k: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    heads: int,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Projection (B, N, 3 * heads * head_dim) -> q, k, v (B, heads, N, head_dim); q and k
    RMS-normalised (gains w_q, w_k (head_dim,), `eps`) and rotated by cos, sin (N, head_dim / 2)."""
    qkv = qkv.contiguous()
    programs, rows, n, head_dim = _grid(qkv, heads)
    q = qkv.new_empty(qkv.shape[0], heads, n, head_dim)  # (B, H, N, D)
    k, v = torch.empty_like(q), torch.empty_like(q)
    wrap_triton(_qk_norm_rope_forward)[(programs,)](
        qkv,
        w_q,
        w_k,
        cos.contiguous(),
        sin.contiguous(),
        q,
        k,
        v,
        rows,
        n,
        heads,
        eps,
        HEAD_DIM=head_dim,
        ROWS=ROWS,
    )
    return q, k, v


@torch.library.triton_op("worldsim::qk_norm_rope_backward", mutates_args=())
def qk_norm_rope_backward(
    d_q: torch.Tensor,
    d_k: torch.Tensor,
    d_v: torch.Tensor,
    qkv: torch.Tensor,
    w_q: torch.Tensor,
    w_k: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    heads: int,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of `qk_norm_rope`'s outputs -> those of qkv, w_q and w_k."""
    qkv = qkv.contiguous()  # as the forward read it (compiled graphs may hand other strides)
    programs, rows, n, head_dim = _grid(qkv, heads)
    d_qkv = torch.empty_like(qkv)  # (B, N, 3 * H * D)
    # each program's share of the gains' gradients (programs, D), summed below
    d_wq = qkv.new_empty(programs, head_dim, dtype=torch.float32)
    d_wk = torch.empty_like(d_wq)
    wrap_triton(_qk_norm_rope_backward)[(programs,)](
        d_q.contiguous(),
        d_k.contiguous(),
        d_v.contiguous(),
        qkv,
        w_q,
        w_k,
        cos.contiguous(),
        sin.contiguous(),
        d_qkv,
        d_wq,
        d_wk,
        rows,
        n,
        heads,
        eps,
        HEAD_DIM=head_dim,
        ROWS=ROWS,
    )
    return d_qkv, d_wq.sum(0).to(w_q.dtype), d_wk.sum(0).to(w_k.dtype)


def _setup_context(ctx, inputs, output):
    qkv, w_q, w_k, cos, sin, heads, eps = inputs
    ctx.save_for_backward(qkv, w_q, w_k, cos, sin)
    ctx.heads, ctx.eps = heads, eps


def _backward_rule(ctx, d_q, d_k, d_v):
    qkv, w_q, w_k, cos, sin = ctx.saved_tensors
    grads = qk_norm_rope_backward(d_q, d_k, d_v, qkv, w_q, w_k, cos, sin, ctx.heads, ctx.eps)
    return *grads, None, None, None, None


qk_norm_rope.register_autograd(_backward_rule, setup_context=_setup_context)
