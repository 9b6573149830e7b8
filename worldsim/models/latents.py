"""Videos <-> VAE latents in the (B, T, C, H, W) layout the DiT and the evals use, and the actions
aligned with latent frames."""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange

from worldsim.data.actions import pad_actions
from worldsim.data.latent_datamodule import latent_actions
from worldsim.data.pixels import pixels_to_unit
from worldsim.models.autoencoder import DiagonalGaussian, chunk_slices


def encode_video(vae: torch.nn.Module, video: torch.Tensor) -> torch.Tensor:
    """Video (B, 1 + tf k, C, H, W) in [-1, 1] -> posterior-mean latents (B, 1 + k, c, h, w)."""
    z = vae.encode(rearrange(video, "b t c h w -> b c t h w"))  # (B, c, T', h, w)
    return rearrange(z, "b c t h w -> b t c h w")


def decode_latents(vae: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Latents (B, 1 + k, c, h, w) -> video (B, 1 + tf k, C, H, W) clamped to [-1, 1]."""
    video = vae.decode(rearrange(z.float(), "b t c h w -> b c t h w"))  # (B, C, T, H, W)
    return rearrange(video, "b c t h w -> b t c h w").clamp(-1, 1)


def actions_per_latent_frame(
    actions: torch.Tensor, latent_frames: int, action_dim: int, time_factor: int, ages: int = 0
) -> torch.Tensor:
    """Pixel-frame actions (B, T, A) starting at latent frame 0 -> (B, latent_frames, action_dim),
    and with `ages` (model.action_ages) their ages after them: (B, latent_frames, 2 action_dim),
    counted from the first frame given (an episode's reset, for ages that know all its history).

    Takes the 1 + tf (latent_frames - 1) pixel frames those latents cover; frames past the end of
    `actions` get the null (zero) action; codec vectors are zero-padded to action_dim / tf.
    """
    need = 1 + time_factor * (latent_frames - 1)
    span = actions[:, :need]
    span = torch.cat([span, span.new_zeros(span.shape[0], need - span.shape[1], span.shape[2])], 1)
    return latent_actions(pad_actions(span, action_dim // time_factor), time_factor, ages)


@torch.no_grad()
def encode_episode(vae, frames, length: int, chunk: int, device: str) -> np.ndarray:
    """(T', c, h, w) posterior-mean latents of the first `length` of an episode's (T, H, W, 3)
    uint8 frames, encoded chunk by chunk (bounded memory; equal to one pass)."""

    def pixels(s: slice) -> torch.Tensor:
        x = torch.from_numpy(np.array(frames[s])).to(device)  # (t, H, W, 3) uint8, read lazily
        return rearrange(pixels_to_unit(x), "t h w c -> 1 c t h w")

    moments = [m.cpu() for m in vae.encode_chunks(pixels(s) for s in chunk_slices(length, chunk))]
    mean = DiagonalGaussian(torch.cat(moments, dim=2)).mean[0]  # (c, T', h, w)
    return rearrange(mean.numpy(), "c t h w -> t c h w")
