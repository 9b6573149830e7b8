"""Imagination: the last real frames -> N imagined futures decoded to pixels.

The real frames are encoded with the world model's VAE (the last 1 + time_factor j of them, as
many as the episode has), the model extends them by `horizon` latent frames from the prompt
with the null action, and the whole sequence is decoded, so the IDM can read the imagined
frames with decoded context before them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from einops import rearrange

from worldsim.control.control_config import CONTRASTS, ImagineConfig
from worldsim.control.prompts import contrast_caption
from worldsim.data.pixels import pixels_to_unit, unit_to_pixels
from worldsim.models.latents import encode_video


@dataclass
class Imagined:
    """Decoded futures: the context as the VAE returns it, then the imagined frames."""

    video: np.ndarray  # (N, Tc + tf * horizon, H, W, 3) uint8
    context: int  # Tc: pixel frames of decoded real context at the start of each video


class Imaginer:
    """A world model (`load_world_model`) imagining futures of real frames from a prompt."""

    def __init__(self, module, cfg: ImagineConfig):
        self.module, self.cfg = module, cfg
        self.time_factor = module.latent_info.time_factor
        if cfg.contrast not in CONTRASTS:
            raise ValueError(f"imagine.contrast={cfg.contrast!r}: choose from {CONTRASTS}")
        if cfg.context < 1 or (cfg.context - 1) % self.time_factor:
            raise ValueError(
                f"imagine.context={cfg.context} must be 1 + {self.time_factor} k real frames"
            )

    def context_frames(self, available: int) -> int:
        """Real frames encoded when the episode has `available`: 1 + tf j, at most `context`."""
        tf = self.time_factor
        return 1 + (min(available, self.cfg.context) - 1) // tf * tf

    def clock(self, played: int, rows: int, frames: int) -> torch.Tensor | None:
        """The clock (rows, frames) of the encoded context of episodes that have shown `played`
        frames (from their reset, step 0) and of the latent frames after it; None for a model not
        told the clock."""
        return self.module.clock([played - self.context_frames(played)] * rows, frames)

    @torch.no_grad()
    def encode(self, episodes: list) -> torch.Tensor:
        """Episodes so far, each (T, H, W, 3) uint8 (an array or a list of frames) of one length
        T -> normalised latents (B, Tc', c, h, w) of their last `context_frames(T)` frames (only
        those are copied)."""
        m, tc = self.module, self.context_frames(len(episodes[0]))
        if len({len(frames) for frames in episodes}) > 1:
            raise ValueError("episodes imagined together must have played the same steps")
        clips = np.stack([frames[-tc:] for frames in episodes])  # (B, Tc, H, W, 3)
        x = rearrange(pixels_to_unit(clips), "b t h w c -> b t c h w").to(m.device)
        return m.normalise(encode_video(m.autoencoder(), x))

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Normalised latents (N, T', c, h, w) -> uint8 video (N, 1 + tf (T' - 1), H, W, 3)."""
        video = unit_to_pixels(self.module.decode(latents).float().cpu())  # (N, T, 3, H, W)
        return rearrange(video, "n t c h w -> n t h w c").numpy()

    @torch.no_grad()
    def imagine_many(self, episodes: list, prompts: list[str], seeds: list[int]) -> list[Imagined]:
        """Episodes so far, each (T, H, W, 3) uint8 (as `encode`) of one length T -> each one's
        `futures` imagined continuations, in one batch: each with its own prompt and seeded
        noise, as it would be alone up to the rounding of batched kernels."""
        n = self.cfg.futures
        z = self.encode(episodes).repeat_interleave(n, dim=0)  # (B N, Tc', c, h, w)
        captions = [prompt for prompt in prompts for _ in range(n)]
        # contrast=event: guidance from each prompt without its event (the empty caption for a
        # prompt with none); empty: plain classifier-free guidance, from the dropped prompt
        contrast, scale = self.cfg.contrast == "event", self.cfg.guidance
        negatives = [contrast_caption(c, "event") for c in captions] if contrast else None
        if negatives == captions:  # nothing to amplify (the empty prompt): one pass, same result
            negatives, scale = None, 1.0
        sample = self.module.sample_cfg
        sample = replace(sample, guidance=replace(sample.guidance, text_scale=scale))
        runner = self.module.mode_runner(captions, seeds, sample, negatives, self.cfg.shared_scale)
        clock = self.clock(len(episodes[0]), z.shape[0], z.shape[1] + self.cfg.horizon)
        seq = runner.extend_forward(z, self.cfg.horizon, clock=clock)
        video = rearrange(self.decode(seq), "(b n) t h w c -> b n t h w c", n=n)
        tc = self.context_frames(len(episodes[0]))
        return [Imagined(futures, tc) for futures in video]
