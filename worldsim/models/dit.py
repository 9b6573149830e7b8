"""Spacetime diffusion transformer over video latents, modulated per frame (diffusion forcing).

A latent (B, T, C, H, W) is cut into (pt, ph, pw) patches; tokens carry 3D rotary positions, so any
grid works at test time. Every block is adaLN-Zero modulated *per token frame* by that frame's noise
level and action (with `action_ages`, how long ago each action was last taken; with
`clock_period`, its phase in the game's day), plus the pooled text
vector; text tokens enter through cross-attention.
Self-attention is SDPA (or FlexAttention on CUDA), full or frame-causal, with QK-norm.
With frame-causal attention, context frames (clean, or noised to a fixed level) never see the
frames after them, so their keys and values are computed once (`DiT.prefill`) and reused by every
denoising step (`DiT.step`).
On CUDA, `fused_kernels` runs QK-norm with RoPE and the adaLN LayerNorm as Triton kernels
(`worldsim.models.kernels`), the same math as the PyTorch forms here.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.utils.checkpoint import checkpoint

from worldsim.models import kernels
from worldsim.models.clock import clock_phase
from worldsim.models.dit_config import DiTConfig

# Levels in [0, 1] are scaled to the 0..1000 timestep range the sinusoidal embedding was made for.
LEVEL_TO_TIMESTEP = 1000.0


class TextBatch(NamedTuple):
    """Encoded prompts: tokens (B, L, Dt), mask (B, L) True = real token, pooled (B, Dt)."""

    tokens: torch.Tensor
    mask: torch.Tensor
    pooled: torch.Tensor

    def rows(self, index: slice | torch.Tensor) -> TextBatch:
        """The prompts at `index` (a slice or index tensor over B), every field alike."""
        return TextBatch(*(field[index] for field in self))


@dataclass
class BlockKV:
    """Keys and values (B, heads, N, head_dim) at one block: the context's `past` tokens, then the
    tokens being denoised (rewritten in place by every step: the context is never copied again)."""

    keys: torch.Tensor | None = None
    values: torch.Tensor | None = None
    past: int = 0  # context tokens

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Empty: keep k, v as the context (prefill). Filled: context keys/values, then k, v."""
        if self.keys is None:
            self.keys, self.values, self.past = k, v, k.shape[2]
        elif self.keys.shape[2] != self.past + k.shape[2]:  # first step: make room after the past
            self.keys = torch.cat([self.keys[:, :, : self.past], k], dim=2)
            self.values = torch.cat([self.values[:, :, : self.past], v], dim=2)
        else:
            self.keys[:, :, self.past :] = k
            self.values[:, :, self.past :] = v
        return self.keys, self.values


@dataclass
class ContextCache:
    """What `DiT.step` needs of a clean context: its token frames and every block's keys/values."""

    token_frames: int  # token frames of the context (its latent frames / pt)
    blocks: list[BlockKV] = field(default_factory=list)


# Patches and 3D rotary positions                         #
#################################################################################


def patchify(
    x: torch.Tensor, patch: tuple[int, int, int]
) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """(B, T, C, H, W) -> tokens (B, N, C*pt*ph*pw) and the token grid; pads T, H, W up to the
    patch."""
    pt, ph, pw = patch
    t, h, w = x.shape[1], x.shape[3], x.shape[4]
    pad = (0, -w % pw, 0, -h % ph, 0, 0, 0, -t % pt)
    x = F.pad(x, pad)
    grid = (x.shape[1] // pt, x.shape[3] // ph, x.shape[4] // pw)
    tokens = rearrange(x, "b (f pt) c (y ph) (x pw) -> b (f y x) (c pt ph pw)", pt=pt, ph=ph, pw=pw)
    return tokens, grid


def unpatchify(
    tokens: torch.Tensor,
    grid: tuple[int, int, int],
    patch: tuple[int, int, int],
    shape: tuple[int, int, int],
) -> torch.Tensor:
    """Inverse of `patchify`: tokens (B, N, C*pt*ph*pw) -> (B, T, C, H, W), cropping the padding."""
    pt, ph, pw = patch
    f, gy, gx = grid
    x = rearrange(
        tokens,
        "b (f y x) (c pt ph pw) -> b (f pt) c (y ph) (x pw)",
        f=f,
        y=gy,
        x=gx,
        pt=pt,
        ph=ph,
        pw=pw,
    )
    t, h, w = shape
    return x[:, :t, :, :h, :w]


def rope_dims(head_dim: int) -> tuple[int, int, int]:
    """Head channels given to the (t, y, x) axes; each even, y and x equal."""
    if head_dim % 2 or head_dim < 6:
        raise ValueError(f"head_dim {head_dim} must be even and >= 6 for 3D RoPE; change dim/heads")
    yx = 2 * (head_dim // 6)
    return head_dim - 2 * yx, yx, yx


def rope_angles(
    grid: tuple[int, int, int], head_dim: int, theta: float, device=None
) -> torch.Tensor:
    """Rotation angles (N, head_dim/2) for every token of a (f, y, x) grid, axis by axis."""
    axes = []
    for size, dim in zip(grid, rope_dims(head_dim)):
        freqs = theta ** (
            -torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim
        )  # (dim/2,)
        axes.append(torch.outer(torch.arange(size, device=device, dtype=torch.float32), freqs))
    f, y, x = grid
    t_ang = axes[0][:, None, None].expand(f, y, x, -1).reshape(f * y * x, -1)
    y_ang = axes[1][None, :, None].expand(f, y, x, -1).reshape(f * y * x, -1)
    x_ang = axes[2][None, None, :].expand(f, y, x, -1).reshape(f * y * x, -1)
    # concatenated last: a fresh tensor, not a view (a view's base would enter torch.compile's
    # guards)
    return torch.cat([t_ang, y_ang, x_ang], dim=-1)  # (N, head_dim/2)


class Rope(NamedTuple):
    """Cosines and sines (N, head_dim/2) of every token's rotation angles, fp32."""

    cos: torch.Tensor
    sin: torch.Tensor


@torch.compiler.disable
def rope_tables(grid: tuple[int, int, int], head_dim: int, theta: float, device=None) -> Rope:
    """`Rope` of a (f, y, x) grid, computed once per forward and shared by every block.

    Kept out of torch.compile: the tables enter compiled graphs as inputs, so no kernel recomputes
    cos/sin per element of q and k (a compiled block, or a whole-model backward, did)."""
    angles = rope_angles(grid, head_dim, theta, device)  # (N, head_dim/2)
    return Rope(angles.cos(), angles.sin())


def apply_rope(x: torch.Tensor, rope: Rope) -> torch.Tensor:
    """Rotate channel pairs of x (B, heads, N, head_dim) by the tables of `rope` (N, head_dim/2)."""
    cos, sin = rope.cos.to(x.dtype), rope.sin.to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


def frame_causal_mask(grid: tuple[int, int, int], device=None) -> torch.Tensor:
    """(N, N) bool, True where query token may attend key token: key frame <= query frame."""
    frame = torch.arange(grid[0], device=device).repeat_interleave(grid[1] * grid[2])
    return frame[None, :] <= frame[:, None]


# Embedding layers                                #
#################################################################################


class LevelEmbedder(nn.Module):
    """Noise level in [0, 1] -> vector, through sinusoids and an MLP."""

    def __init__(self, dim: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, level: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=level.device) / half)
        args = (level.float() * LEVEL_TO_TIMESTEP)[..., None] * freqs  # (..., half)
        return self.mlp(torch.cat([args.cos(), args.sin()], dim=-1).to(self.mlp[0].weight.dtype))


class RMSNorm(nn.Module):
    """RMS normalisation over the last axis with a learned gain (QK-norm)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)).to(
            x.dtype
        ) * self.weight


def modulate(
    x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor, frames: int
) -> torch.Tensor:
    """Per-frame adaLN: x (B, F*S, D) with shift/scale (B, F, D)."""
    x = rearrange(x, "b (f s) d -> b f s d", f=frames)
    x = x * (1 + scale[:, :, None]) + shift[:, :, None]
    return rearrange(x, "b f s d -> b (f s) d")


def modulated_norm(
    norm: nn.LayerNorm,
    x: torch.Tensor,
    shift: torch.Tensor,
    scale: torch.Tensor,
    frames: int,
    fused: bool,
) -> torch.Tensor:
    """`modulate(norm(x), ...)`; with `fused`, on CUDA, one Triton kernel each way."""
    if fused and kernels.usable(x):
        return kernels.ada_layer_norm(x, shift, scale, frames, norm.eps)
    return modulate(norm(x), shift, scale, frames)


def normed_heads(
    qkv: torch.Tensor, q_norm: nn.Module, k_norm: nn.Module, rope: Rope, heads: int, fused: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Projection (B, N, 3 * heads * head_dim) -> q, k, v (B, heads, N, head_dim), q and k
    normalised and rotated by RoPE; with `fused` (RMSNorm gains), on CUDA, one Triton kernel each
    way (kernels/qk_norm_rope.py)."""
    if fused and kernels.usable(qkv):
        return kernels.qk_norm_rope(
            qkv, q_norm.weight, k_norm.weight, rope.cos, rope.sin, heads, q_norm.eps
        )
    q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=heads)
    return apply_rope(q_norm(q), rope), apply_rope(k_norm(k), rope), v


def gate(x: torch.Tensor, g: torch.Tensor, frames: int) -> torch.Tensor:
    """Per-frame gate: x (B, F*S, D) times g (B, F, D)."""
    return rearrange(
        rearrange(x, "b (f s) d -> b f s d", f=frames) * g[:, :, None], "b f s d -> b (f s) d"
    )


# Core block                                   #
#################################################################################


class SelfAttention(nn.Module):
    """Multi-head self-attention with QK-norm and 3D RoPE; optional mask (SDPA) or block mask
    (flex)."""

    def __init__(self, dim: int, heads: int, qk_norm: bool, fused: bool = False):
        super().__init__()
        self.heads = heads
        head_dim = dim // heads
        # the kernel's tiles span a power-of-two head width
        self.fused = fused and qk_norm and head_dim & (head_dim - 1) == 0
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm = RMSNorm(head_dim) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(head_dim) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rope: Rope, mask, kv: BlockKV | None = None) -> torch.Tensor:
        qkv = self.qkv(x)  # (B, N, 3 * dim)
        q, k, v = normed_heads(qkv, self.q_norm, self.k_norm, rope, self.heads, self.fused)
        if kv is not None:
            k, v = kv.extend(k, v)
        if mask is not None and not isinstance(mask, torch.Tensor):  # a FlexAttention BlockMask
            from torch.nn.attention.flex_attention import flex_attention

            attend = compiled_flex_attention() if q.is_cuda else flex_attention
            out = attend(q, k, v, block_mask=mask)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))


class CrossAttention(nn.Module):
    """Attention from video tokens to text tokens (padding masked)."""

    def __init__(self, dim: int, text_dim: int, heads: int, qk_norm: bool):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(text_dim, 2 * dim)
        self.q_norm = RMSNorm(dim // heads) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(dim // heads) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q = self.q_norm(rearrange(self.q(x), "b n (h d) -> b h n d", h=self.heads))
        k, v = rearrange(self.kv(tokens), "b l (two h d) -> two b h l d", two=2, h=self.heads)
        out = F.scaled_dot_product_attention(q, self.k_norm(k), v, attn_mask=mask[:, None, None, :])
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))


class DiTBlock(nn.Module):
    """Self-attention, cross-attention to text, MLP; adaLN-Zero conditioned per token frame."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        dim = cfg.dim
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.fused = cfg.fused_kernels
        self.attn = SelfAttention(dim, cfg.heads, cfg.qk_norm, cfg.fused_kernels)
        self.cross = (
            CrossAttention(dim, cfg.text_dim, cfg.heads, cfg.qk_norm) if cfg.text_dim else None
        )
        self.norm_cross = nn.LayerNorm(dim, eps=1e-6) if cfg.text_dim else None
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * cfg.mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim)
        )
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, cond, rope: Rope, mask, text: TextBatch | None, kv: BlockKV | None = None):
        frames = cond.shape[1]
        s1, sc1, g1, s2, sc2, g2 = self.ada(cond).chunk(6, dim=-1)  # each (B, F, D)
        attn = self.attn(modulated_norm(self.norm1, x, s1, sc1, frames, self.fused), rope, mask, kv)
        x = x + gate(attn, g1, frames)
        if self.cross is not None:
            x = x + self.cross(self.norm_cross(x), text.tokens, text.mask)
        hidden = modulated_norm(self.norm2, x, s2, sc2, frames, self.fused)
        return x + gate(self.mlp(hidden), g2, frames)


class FinalLayer(nn.Module):
    """Per-frame adaLN then a linear map back to patch values."""

    def __init__(self, dim: int, out: int, fused: bool = False):
        super().__init__()
        self.fused = fused
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, out)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift, scale = self.ada(cond).chunk(2, dim=-1)
        frames = cond.shape[1]
        return self.linear(modulated_norm(self.norm, x, shift, scale, frames, self.fused))


# The model                                   #
#################################################################################


class DiT(nn.Module):
    """Velocity model v(x_levels, levels, actions, text, clock) over latents (B, T, C, H, W)."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        if cfg.attention not in ("full", "causal") or cfg.backend not in ("sdpa", "flex"):
            raise ValueError(
                f"attention '{cfg.attention}' / backend '{cfg.backend}' unknown; "
                "use attention full|causal, backend sdpa|flex"
            )
        self.cfg = cfg
        pt, ph, pw = cfg.patch
        self.patch_dim = cfg.latent_channels * pt * ph * pw
        self.embed = nn.Linear(self.patch_dim, cfg.dim)
        self.level_embed = LevelEmbedder(cfg.dim)
        self.action_embed = (
            nn.Sequential(
                nn.Linear(cfg.action_dim * pt, cfg.dim), nn.SiLU(), nn.Linear(cfg.dim, cfg.dim)
            )
            if cfg.action_dim
            else None
        )
        self.null_action = nn.Parameter(torch.zeros(cfg.dim)) if cfg.action_dim else None
        if cfg.action_ages and not cfg.action_dim:
            raise ValueError(f"action_ages={cfg.action_ages} needs actions (action_dim > 0)")
        # the actions' ages (`action_ages`), zero-initialised like the clock's layer; dropped with
        # the actions: they are the actions' history
        self.age_embed = nn.Linear(cfg.action_dim * pt, cfg.dim) if cfg.action_ages else None
        # zero-initialised (below): a clock added to trained weights starts them unchanged
        self.clock_embed = nn.Linear(2, cfg.dim) if cfg.clock_period else None
        self.text_pool = nn.Linear(cfg.text_dim, cfg.dim) if cfg.text_dim else None
        self.null_text = nn.Parameter(torch.zeros(1, cfg.text_dim)) if cfg.text_dim else None
        self.blocks = nn.ModuleList(DiTBlock(cfg) for _ in range(cfg.depth))
        self.final = FinalLayer(cfg.dim, self.patch_dim, cfg.fused_kernels)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """Xavier linears; zero adaLN outputs and final layer so every block starts as identity."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.level_embed.mlp[0].weight, std=0.02)
        nn.init.normal_(self.level_embed.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.ada[-1].weight)
            nn.init.zeros_(block.ada[-1].bias)
            if block.cross is not None:  # cross-attention starts silent, like the gated branches
                nn.init.zeros_(block.cross.proj.weight)
        nn.init.zeros_(self.final.ada[-1].weight)
        nn.init.zeros_(self.final.ada[-1].bias)
        for told in (self.clock_embed, self.age_embed):
            if told is not None:
                nn.init.zeros_(told.weight)
        nn.init.zeros_(self.final.linear.weight)
        nn.init.zeros_(self.final.linear.bias)

    def compile_blocks(self) -> None:
        """torch.compile every block in place (state-dict keys unchanged), with dynamic shapes.

        The blocks share one code path, so one compiled graph serves all of them: compile time does
        not grow with depth, and the (frames, height, width) buckets of one run share a
        dynamic-shape graph. A few variants remain (grad on/off, batch of 1, the first block's input
        being a view), each one cache entry shared by all blocks; the limit is raised above dynamo's
        default of 8 so that
        they do not push later calls back to eager. That limit is process-wide (dynamo has no
        per-module setting): calling this is the one place the model changes global torch state."""
        import torch._dynamo

        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 32)
        for block in self.blocks:
            block.compile(dynamic=True)

    def _frame_groups(self, v: torch.Tensor, frames: int, pad_value: str) -> torch.Tensor:
        """(B, T, ...) per latent frame -> (B, F, pt, ...) per token frame, padding T up."""
        pt = self.cfg.patch[0]
        extra = frames * pt - v.shape[1]
        if extra:
            tail = (
                v[:, -1:].expand(-1, extra, *v.shape[2:])
                if pad_value == "edge"
                else torch.zeros_like(v[:, :1]).expand(-1, extra, *v.shape[2:])
            )
            v = torch.cat([v, tail], dim=1)
        return v.reshape(v.shape[0], frames, pt, *v.shape[2:])

    def condition(
        self,
        levels,
        frames,
        actions=None,
        text=None,
        drop_actions=None,
        drop_text=None,
        clock=None,
    ):
        """Per-token-frame conditioning (B, F, D): level + action (or null) + pooled text (or
        null) + the clock's phase (`clock_period`; never dropped: every rollout knows its step)."""
        cond = self.level_embed(self._frame_groups(levels, frames, "edge")[:, :, 0])  # (B, F, D)
        if self.clock_embed is not None:
            if clock is None or clock.shape != levels.shape:
                raise ValueError(
                    f"this DiT is told the game clock (model.clock_period="
                    f"{self.cfg.clock_period}): pass clock, each latent frame's env step, shaped "
                    f"like levels {tuple(levels.shape)}; got "
                    f"{None if clock is None else tuple(clock.shape)}"
                )
            phase = clock_phase(
                self._frame_groups(clock, frames, "edge")[:, :, 0], self.cfg.clock_period
            )
            cond = cond + self.clock_embed(phase.to(cond.dtype))  # phase (B, F, 2)
        if self.action_embed is not None:
            if actions is None:
                act = self.null_action.expand_as(cond)
            else:
                act = self._embed_actions(actions, frames, cond.dtype)
                if drop_actions is not None:
                    act = torch.where(
                        drop_actions[:, None, None], self.null_action.to(act.dtype), act
                    )
            cond = cond + act
        if self.text_pool is not None and text is not None:
            pooled = self.text_pool(text.pooled.to(cond.dtype))  # (B, D)
            if drop_text is not None:
                pooled = pooled * (~drop_text)[:, None]
            cond = cond + pooled[:, None]
        return cond

    def _embed_actions(self, actions: torch.Tensor, frames: int, dtype) -> torch.Tensor:
        """Actions (B, T, A') (with `action_ages`, their ages after them: (B, T, 2 A')) ->
        their embedding (B, F, D)."""
        width = self.cfg.action_dim * (2 if self.age_embed is not None else 1)
        if actions.shape[-1] != width:
            told = f"action_ages={self.cfg.action_ages}: " if self.age_embed is not None else ""
            raise ValueError(
                f"this DiT takes {width} action values per latent frame ({told}action_dim="
                f"{self.cfg.action_dim}{' and their ages' if told else ''}); got "
                f"{actions.shape[-1]}: build them with actions_per_latent_frame(..., ages="
                f"{self.cfg.action_ages})"
            )
        grouped = self._frame_groups(actions, frames, "zero").to(dtype)  # (B, F, pt, A'')
        act = self.action_embed(grouped[..., : self.cfg.action_dim].flatten(2))
        if self.age_embed is not None:
            act = act + self.age_embed(grouped[..., self.cfg.action_dim :].flatten(2))
        return act

    def _text_for_cross(self, text: TextBatch | None, batch: int, drop_text) -> TextBatch:
        """Text tokens for cross-attention; dropped or missing prompts see one learned null
        token."""
        null = TextBatch(
            self.null_text.expand(batch, 1, -1),
            torch.ones(batch, 1, dtype=torch.bool, device=self.null_text.device),
            self.null_text.expand(batch, -1),
        )
        if text is None:
            return null
        tokens = torch.cat(
            [text.tokens.to(self.null_text.dtype), null.tokens], dim=1
        )  # (B, L+1, Dt)
        keep = text.mask if drop_text is None else text.mask & ~drop_text[:, None]
        mask = torch.cat(
            [keep, ~keep.any(dim=1, keepdim=True)], dim=1
        )  # null token only when empty
        return TextBatch(tokens, mask, text.pooled)

    def attention_mask(self, grid: tuple[int, int, int], device):
        """None (full attention) or the frame-causal mask in the configured backend's format."""
        if self.cfg.attention == "full":
            return None
        if self.cfg.backend == "flex":
            from torch.nn.attention.flex_attention import create_block_mask

            frame = torch.arange(grid[0], device=device).repeat_interleave(grid[1] * grid[2])
            n = frame.numel()
            return create_block_mask(
                lambda b, h, q, k: frame[k] <= frame[q], None, None, n, n, device=device
            )
        return frame_causal_mask(grid, device)

    def forward(
        self,
        x: torch.Tensor,
        levels: torch.Tensor,
        actions: torch.Tensor | None = None,
        text: TextBatch | None = None,
        drop_actions: torch.Tensor | None = None,
        drop_text: torch.Tensor | None = None,
        clock: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x (B, T, C, H, W) noisy latents, levels (B, T) in [0, 1], actions (B, T, A) (with
        `action_ages`, their ages after them: (B, T, 2 A)), clock (B, T) env steps -> velocity
        like x."""
        t, _, h, w = x.shape[1:]
        hidden, cond, grid = self._trunk(x, levels, actions, text, drop_actions, drop_text, clock)
        return unpatchify(self.final(hidden, cond), grid, self.cfg.patch, (t, h, w))

    def features(self, x: torch.Tensor, levels: torch.Tensor, **conditioning) -> torch.Tensor:
        """The last block's tokens (B, N, D) for x (B, T, C, H, W) at levels (B, T), with
        `forward`'s conditioning: what a head reading the network's view of x (flow.dmd's
        realism critic) sees. It runs outside a whole-model compile (`train.compile_model`);
        compiled blocks (`compile_blocks`) serve it."""
        return self._trunk(x, levels, **conditioning)[0]

    def _trunk(
        self, x, levels, actions=None, text=None, drop_actions=None, drop_text=None, clock=None
    ):
        """x (B, T, C, H, W) through every block -> (hidden (B, N, D), cond (B, F, D), grid)."""
        tokens, grid = patchify(x, self.cfg.patch)  # (B, N, patch_dim)
        cond = self.condition(levels, grid[0], actions, text, drop_actions, drop_text, clock)
        rope = rope_tables(grid, self.cfg.dim // self.cfg.heads, self.cfg.rope_theta, x.device)
        mask = self.attention_mask(grid, x.device)
        return self._blocks(tokens, cond, rope, mask, text, drop_text), cond, grid

    def _blocks(self, tokens, cond, rope, mask, text, drop_text, cache=None) -> torch.Tensor:
        """Patch tokens (B, N, patch_dim) embedded and through every block -> (B, N, D); `cache`
        fills or reads each block's keys/values. Inputs take the weights' dtype (bf16 inference)."""
        hidden = self.embed(tokens.to(self.embed.weight.dtype))
        cross = (
            self._text_for_cross(text, hidden.shape[0], drop_text) if self.cfg.text_dim else None
        )
        for i, block in enumerate(self.blocks):
            kv = None if cache is None else cache.blocks[i]
            if self.cfg.checkpointing and self.training:
                hidden = checkpoint(block, hidden, cond, rope, mask, cross, kv, use_reentrant=False)
            else:
                hidden = block(hidden, cond, rope, mask, cross, kv)
        return hidden

    @torch.no_grad()
    def prefill(
        self,
        context: torch.Tensor,
        actions: torch.Tensor | None = None,
        text: TextBatch | None = None,
        drop_actions: torch.Tensor | None = None,
        drop_text: torch.Tensor | None = None,
        level: float = 0.0,
        clock: torch.Tensor | None = None,
    ) -> ContextCache:
        """Keys/values of context latents (B, Tc, C, H, W) at noise `level` (0: clean), for `step`.

        Exact for frame-causal attention only (context tokens never attend to later frames), and
        when the context fills whole token frames (Tc a multiple of pt)."""
        pt = self.cfg.patch[0]
        if self.cfg.attention != "causal" or context.shape[1] % pt:
            raise ValueError(
                f"a context cache needs attention=causal and context frames a multiple of pt={pt}; "
                f"got attention={self.cfg.attention}, {context.shape[1]} frames"
            )
        levels = context.new_full(context.shape[:2], level)  # (B, Tc)
        tokens, grid = patchify(context, self.cfg.patch)  # (B, Nc, patch_dim)
        cond = self.condition(levels, grid[0], actions, text, drop_actions, drop_text, clock)
        rope = rope_tables(grid, self.cfg.dim // self.cfg.heads, self.cfg.rope_theta, tokens.device)
        cache = ContextCache(grid[0], [BlockKV() for _ in self.blocks])
        mask = self.attention_mask(grid, tokens.device)
        self._blocks(tokens, cond, rope, mask, text, drop_text, cache)
        return cache

    @torch.no_grad()
    def step(
        self,
        x: torch.Tensor,
        levels: torch.Tensor,
        cache: ContextCache,
        actions: torch.Tensor | None = None,
        text: TextBatch | None = None,
        drop_actions: torch.Tensor | None = None,
        drop_text: torch.Tensor | None = None,
        clock: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Velocity of the latents x (B, T, C, H, W) that follow `cache`'s context; levels,
        actions and clock cover x only. Equals `forward` on context + x, restricted to x."""
        b, t, _, h, w = x.shape
        tokens, grid = patchify(x, self.cfg.patch)  # (B, N, patch_dim)
        whole = (cache.token_frames + grid[0], grid[1], grid[2])  # token grid of context + x
        past = cache.token_frames * grid[1] * grid[2]  # context tokens
        head_dim = self.cfg.dim // self.cfg.heads
        rope = rope_tables(whole, head_dim, self.cfg.rope_theta, x.device)
        rope = Rope(rope.cos[past:], rope.sin[past:])  # x's tokens
        # x's rows of the frame-causal mask; one token frame sees every key, so no mask at all
        mask = frame_causal_mask(whole, x.device)[past:] if grid[0] > 1 else None
        cond = self.condition(levels, grid[0], actions, text, drop_actions, drop_text, clock)
        hidden = self._blocks(tokens, cond, rope, mask, text, drop_text, cache)
        return unpatchify(self.final(hidden, cond), grid, self.cfg.patch, (t, h, w))


@functools.cache
def compiled_flex_attention():
    """FlexAttention compiled on first CUDA use, once per process (eager materialises all
    scores)."""
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False)
