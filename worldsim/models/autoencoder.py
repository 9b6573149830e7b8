"""Causal 3D convolutional video VAE: time x4, space x4 or x8, the first frame encoded alone.

Causality: every temporal operation looks only at the past (convolutions pad on the left, the
time down/upsamplers group frames (0), (1, 2), (3, 4), ...), and normalisation is per frame.
So a clip of 1+4k frames maps to 1+k latent frames, an image is a one-frame video, and a long
video can be processed in chunks with a cache of each layer's last frames (`StreamCache`),
giving the same result as one pass in memory bounded by the chunk length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from worldsim.models.autoencoder_config import CHUNKING, AutoencoderConfig, downsampling_levels
from worldsim.models.checkpoint import CheckpointError, read_checkpoint, write_checkpoint

# ---------------------------------------------------------------------------- streaming state


class StreamCache(dict):
    """Per-layer state carried between chunks of one video: `cache[layer]` = that layer's last
    inputs."""


def chunk_slices(frames: int, chunk: int) -> list[slice]:
    """Chunks of a causal pass over `frames` frames: the first frame alone, then `chunk` frames
    each."""
    return [slice(0, 1)] + [slice(s, min(s + chunk, frames)) for s in range(1, frames, chunk)]


def _first_chunk(cache: StreamCache | None, layer: nn.Module) -> bool:
    return cache is None or layer not in cache


# ---------------------------------------------------------------------------- layers


class CausalConv3d(nn.Conv3d):
    """3D convolution padded only towards the past in time (the first frame is replicated)."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int] = (3, 3, 3)):
        super().__init__(cin, cout, kernel, padding=(0, kernel[1] // 2, kernel[2] // 2))
        self.past = kernel[0] - 1

    def forward(self, x: torch.Tensor, cache: StreamCache | None = None) -> torch.Tensor:
        if self.past:
            past = (
                x[:, :, :1].expand(-1, -1, self.past, -1, -1)
                if _first_chunk(cache, self)
                else cache[self]
            )
            x = torch.cat([past, x], dim=2)
            if cache is not None:
                cache[self] = x[:, :, -self.past :].detach()
        return super().forward(x)


class FrameNorm(nn.GroupNorm):
    """GroupNorm over (C, H, W) of each frame alone, so statistics never mix time."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        y = super().forward(rearrange(x, "b c t h w -> (b t) c h w"))
        return rearrange(y, "(b t) c h w -> b c t h w", b=b)


class ResBlock(nn.Module):
    """Pre-norm residual block of two causal 3x3x3 convolutions."""

    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.norm1, self.conv1 = FrameNorm(groups, cin), CausalConv3d(cin, cout)
        self.norm2, self.conv2 = FrameNorm(groups, cout), CausalConv3d(cout, cout)
        self.skip = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, cache: StreamCache | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)), cache)
        h = self.conv2(F.silu(self.norm2(h)), cache)
        return self.skip(x) + h


class Downsample(nn.Module):
    """Halve H, W (strided conv) and/or T (frames (0), (1, 2), (3, 4)... merged by a learned
    kernel-2 conv)."""

    def __init__(self, channels: int, space: bool, time: bool):
        super().__init__()
        self.space, self.time = space, time
        self.spatial = nn.Conv3d(channels, channels, (1, 3, 3), stride=(1, 2, 2)) if space else None
        self.temporal = nn.Conv3d(channels, channels, (2, 1, 1), stride=(2, 1, 1)) if time else None

    def forward(self, x: torch.Tensor, cache: StreamCache | None = None) -> torch.Tensor:
        if self.space:
            x = self.spatial(F.pad(x, (0, 1, 0, 1, 0, 0)))  # asymmetric pad keeps H/2 exactly
        if self.time:
            if _first_chunk(cache, self):
                x = torch.cat([x[:, :, :1], x], dim=2)  # the first frame pairs with itself
                if cache is not None:
                    cache[self] = True
            if x.shape[2] % 2:
                raise ValueError(
                    f"a chunk after the first has {x.shape[2]} frames at a time-downsampling "
                    "layer; chunks after the first must hold a multiple of time_factor frames"
                )
            x = self.temporal(x)
        return x


class Upsample(nn.Module):
    """Double H, W (nearest + conv) and/or T (each latent frame -> 2 frames; the first -> 1)."""

    def __init__(self, channels: int, space: bool, time: bool):
        super().__init__()
        self.space, self.time = space, time
        self.spatial = CausalConv3d(channels, channels, (1, 3, 3)) if space else None
        self.temporal = nn.Conv3d(channels, 2 * channels, 1) if time else None

    def forward(self, x: torch.Tensor, cache: StreamCache | None = None) -> torch.Tensor:
        if self.time:
            x = rearrange(self.temporal(x), "b (r c) t h w -> b c (t r) h w", r=2)
            if _first_chunk(cache, self):
                x = x[:, :, 1:]  # the first latent frame stands for one frame only
                if cache is not None:
                    cache[self] = True
        if self.space:
            x = self.spatial(F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"))
        return x


class DiagonalGaussian:
    """The posterior q(z|x) = N(mean, exp(logvar)) of each latent element."""

    def __init__(self, moments: torch.Tensor):
        self.mean, logvar = moments.chunk(2, dim=1)  # (B, c, T', h, w) each
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        return self.mean + self.std * noise

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) per batch element, summed over latent elements."""
        return 0.5 * (self.mean.pow(2) + self.logvar.exp() - 1.0 - self.logvar).flatten(1).sum(1)


# ---------------------------------------------------------------------------- encoder / decoder


class OutHead(nn.Module):
    """Norm, SiLU and a causal convolution to the output channels."""

    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.norm, self.conv = FrameNorm(groups, cin), CausalConv3d(cin, cout)

    def forward(self, x: torch.Tensor, cache: StreamCache | None = None) -> torch.Tensor:
        return self.conv(F.silu(self.norm(x)), cache)


def _run(layers: nn.ModuleList, x: torch.Tensor, cache: StreamCache | None) -> torch.Tensor:
    for layer in layers:
        x = layer(x, cache)
    return x


class Encoder(nn.Module):
    """(B, C, T, H, W) video -> (B, 2c, T', h, w) posterior moments."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        chans = [cfg.base_channels * m for m in cfg.channel_mult]
        layers: list[nn.Module] = [CausalConv3d(cfg.in_channels, chans[0])]
        downs = downsampling_levels(cfg)
        for i, ch in enumerate(chans):
            for _ in range(cfg.num_res_blocks):
                layers.append(ResBlock(_out(layers), ch, cfg.norm_groups))
            if i < len(downs):
                layers.append(Downsample(ch, *downs[i]))
        layers += [
            ResBlock(chans[-1], chans[-1], cfg.norm_groups),
            OutHead(chans[-1], 2 * cfg.latent_channels, cfg.norm_groups),
        ]
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, cache: StreamCache | None = None) -> torch.Tensor:
        return _run(self.layers, x, cache)


class Decoder(nn.Module):
    """(B, c, T', h, w) latents -> (B, C, T, H, W) video."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        chans = [cfg.base_channels * m for m in cfg.channel_mult][::-1]
        ups = downsampling_levels(cfg)[::-1]
        layers: list[nn.Module] = [
            CausalConv3d(cfg.latent_channels, chans[0]),
            ResBlock(chans[0], chans[0], cfg.norm_groups),
        ]
        for i, ch in enumerate(chans):
            for _ in range(cfg.num_res_blocks):
                layers.append(ResBlock(_out(layers), ch, cfg.norm_groups))
            if i < len(ups):
                layers.append(Upsample(ch, *ups[i]))
        layers.append(OutHead(chans[-1], cfg.in_channels, cfg.norm_groups))
        self.layers = nn.ModuleList(layers)

    def forward(self, z: torch.Tensor, cache: StreamCache | None = None) -> torch.Tensor:
        return _run(self.layers, z, cache)


def _out(layers: list[nn.Module]) -> int:
    """Output channels of the last layer that changes them."""
    for layer in reversed(layers):
        if isinstance(layer, ResBlock):
            return layer.conv2.out_channels
        if isinstance(layer, CausalConv3d):
            return layer.out_channels
    raise ValueError("no channel-changing layer yet")


# ---------------------------------------------------------------------------- the autoencoder


class VideoAutoencoder(nn.Module):
    """Causal video VAE; `encode`/`decode` process long videos in chunks with a causal cache."""

    def __init__(self, cfg: AutoencoderConfig | None = None):
        super().__init__()
        self.cfg = cfg or AutoencoderConfig()
        if self.cfg.encode_chunk % self.cfg.time_factor or self.cfg.encode_chunk <= 0:
            raise ValueError(
                f"encode_chunk={self.cfg.encode_chunk} must be a positive multiple of "
                f"time_factor={self.cfg.time_factor}"
            )
        self.time_factor, self.space_factor = self.cfg.time_factor, self.cfg.space_factor
        self.latent_channels = self.cfg.latent_channels
        self.encoder, self.decoder = Encoder(self.cfg), Decoder(self.cfg)

    def latent_frames(self, frames: int) -> int:
        """Latent frames of a clip of `frames` = 1 + time_factor * k frames."""
        if (frames - 1) % self.time_factor:
            raise ValueError(
                f"clip of {frames} frames: the VAE needs 1 + {self.time_factor}k frames; "
                f"trim to {1 + (frames - 1) // self.time_factor * self.time_factor}"
            )
        return 1 + (frames - 1) // self.time_factor

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != self.cfg.in_channels:
            raise ValueError(
                f"expected (B, {self.cfg.in_channels}, T, H, W) video, got {tuple(x.shape)}"
            )
        if x.shape[3] % self.space_factor or x.shape[4] % self.space_factor:
            raise ValueError(
                f"frame size {tuple(x.shape[3:])} must be divisible by "
                f"space_factor={self.space_factor}"
            )
        self.latent_frames(x.shape[2])

    def posterior(self, x: torch.Tensor, chunk: int | None = None) -> DiagonalGaussian:
        """q(z|x) for x (B, C, 1+4k, H, W) in [-1, 1]; chunks of `chunk` frames after the first
        (None: config)."""
        self._check(x)
        chunk = chunk or self.cfg.encode_chunk
        if chunk % self.time_factor:
            raise ValueError(
                f"encode chunk={chunk} must be a multiple of time_factor={self.time_factor}"
            )
        if x.shape[2] <= 1 + chunk:
            return DiagonalGaussian(self.encoder(x))
        parts = self.encode_chunks(x[:, :, s] for s in chunk_slices(x.shape[2], chunk))
        return DiagonalGaussian(torch.cat(list(parts), dim=2))

    def encode_chunks(self, chunks: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Posterior moments (B, 2c, t', h, w) per chunk of one video: first chunk 1 frame, then 4m
        frames each."""
        cache = StreamCache()
        for x in chunks:
            yield self.encoder(x, cache)

    def encode(self, x: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """Posterior mean (B, c, 1+k, h, w) of x (B, C, 1+4k, H, W) in [-1, 1]."""
        return self.posterior(x, chunk).mean

    def decode_chunks(self, chunks: Iterable[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Frames per chunk of one latent video: first chunk 1 latent frame, then any number
        each."""
        cache = StreamCache()
        for z in chunks:
            yield self.decoder(z, cache)

    def decode(self, z: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """Video (B, C, 1+4k, H, W) from latents (B, c, 1+k, h, w); chunks of `chunk` latent
        frames."""
        chunk = chunk or self.cfg.decode_chunk
        if z.shape[2] <= 1 + chunk:
            return self.decoder(z)
        return torch.cat(
            list(self.decode_chunks(z[:, :, s] for s in chunk_slices(z.shape[2], chunk))), dim=2
        )

    def forward(
        self, x: torch.Tensor, sample: bool = True
    ) -> tuple[torch.Tensor, DiagonalGaussian]:
        """Reconstruction of x through a sampled (or mean) latent, and the posterior."""
        post = DiagonalGaussian(self.encoder(x))
        return self.decoder(post.sample() if sample else post.mean), post


# ---------------------------------------------------------------------------- checkpoints


def save_autoencoder(model: VideoAutoencoder, path: str | Path, meta: dict | None = None) -> Path:
    """Write a slim checkpoint: config + weights (+ meta), loadable by `load_autoencoder`."""
    path = Path(path)
    state = {"autoencoder_config": asdict(model.cfg), "state_dict": model.state_dict()}
    write_checkpoint({**state, "meta": meta or {}}, path)
    return path


def load_autoencoder(ckpt_path: str | Path, device: str | torch.device = "cpu") -> VideoAutoencoder:
    """A VideoAutoencoder in eval mode from a slim export, a train-vae Lightning checkpoint (EMA
    weights) or the VAE bundled in a shipped world model (`pretrained:NAME`, path or URL)."""
    from worldsim.models.pretrained import require_autoencoder, resolve_checkpoint

    require_autoencoder(str(ckpt_path))
    path = Path(resolve_checkpoint(str(ckpt_path)))
    how = "pass a .ckpt written by `worldsim train-vae` (or a world model's, VAE bundled)"
    ckpt = read_checkpoint(
        path, path, "video autoencoder", how, ("autoencoder", "autoencoder_config", "state_dict")
    )
    ckpt = ckpt.get("autoencoder", ckpt)  # a world model exported with its VAE bundled
    if "autoencoder_config" in ckpt:
        cfg_dict, state = ckpt["autoencoder_config"], ckpt["state_dict"]
    elif "latents" in ckpt.get("hyper_parameters", {}):
        # a world model without its VAE (`worldsim train`'s ema.ckpt): its DiT config is no VAE's
        named = ckpt["hyper_parameters"]["latents"].get("autoencoder") or "its train-vae vae.ckpt"
        raise CheckpointError(
            f"{path} is a world model without its VAE bundled; pass the VAE it was trained on "
            f"({named}), or a world model exported with bundle_autoencoder=true"
        )
    elif "hyper_parameters" in ckpt and "model" in ckpt["hyper_parameters"]:
        # Lightning checkpoint of VAETask: the EMA callback wrote its average into state_dict.
        cfg_dict = ckpt["hyper_parameters"]["model"]
        state = {
            k[len("model.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")
        }
    else:
        raise CheckpointError(
            f"{path} is neither a `save_autoencoder` export nor a train-vae checkpoint "
            f"(keys {sorted(ckpt)[:6]}); {how}"
        )
    diverged = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if diverged:
        raise CheckpointError(
            f"{path} holds NaN/inf weights ({len(diverged)} tensors, e.g. {diverged[0]}): its "
            "training diverged; pass an earlier checkpoint, or train again with a lower optim.lr"
        )
    return autoencoder_from_state(cfg_dict, state).to(device)


def same_encoder(a: VideoAutoencoder, b: VideoAutoencoder) -> bool:
    """Whether `a` and `b` encode alike: equal shapes (CHUNKING aside) and encoder weights
    (compared in fp16, the precision a shipped file keeps)."""
    shape_a, shape_b = asdict(a.cfg), asdict(b.cfg)
    if any(shape_a[k] != shape_b[k] for k in shape_a if k not in CHUNKING):
        return False
    theirs = b.encoder.state_dict()
    return all(
        torch.equal(v.half(), theirs[k].to(v.device).half())
        for k, v in a.encoder.state_dict().items()
    )


def autoencoder_from_state(cfg_dict: dict, state: dict) -> VideoAutoencoder:
    """A VideoAutoencoder in eval mode from its config dict and (any-precision) weights."""
    model = VideoAutoencoder(AutoencoderConfig(**cfg_dict))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
