"""Every generation mode as one operation: denoise the unknown latent frames beside clean known ones.

Latents are normalised (B, T, C, H, W). Each mode returns the whole sequence, known frames included
(returned exactly as given), so callers decode once. Actions, when used, are per latent frame
(B, T, A) aligned with the returned sequence.
"""

from __future__ import annotations

import torch

from worldsim.diffusion.guidance import GuidanceConfig, guided_velocity
from worldsim.diffusion.samplers import FlowSampler
from worldsim.models.dit import TextBatch

MODES = (
    "text",
    "image",
    "image_to_video",
    "extend_forward",
    "extend_backward",
    "interpolate",
    "loop",
    "edit",
    "rollout",
)


class Generator:
    """Runs the generation modes with one model, sampler, guidance and (optional) prompt batch."""

    def __init__(
        self,
        model: torch.nn.Module,
        sampler: FlowSampler,
        guidance: GuidanceConfig | None = None,
        text: TextBatch | None = None,
        seed: int = 0,
    ):
        self.model, self.sampler = model, sampler
        self.guidance = guidance or GuidanceConfig()
        self.text = text
        self.rng = torch.Generator().manual_seed(seed)

    def noise(self, like: torch.Tensor) -> torch.Tensor:
        """Gaussian noise shaped like `like`, from this generator's seeded stream."""
        return torch.randn(like.shape, generator=self.rng).to(like.device, like.dtype)

    def fill(
        self,
        known: torch.Tensor,
        generate: torch.Tensor,
        actions: torch.Tensor | None = None,
        start: float = 1.0,
    ) -> torch.Tensor:
        """Denoise frames where `generate` (B, T) from level `start` (1 = pure noise) to 0; keep the rest."""
        mask = generate.reshape(*generate.shape, 1, 1, 1).to(known.device)
        x = torch.where(mask, (1 - start) * known + start * self.noise(known), known)
        velocity = guided_velocity(self.model, actions, self.text, self.guidance)
        return self.sampler.sample(velocity, x, generate.to(known.device), start)

    @staticmethod
    def _mask(batch: int, frames: int, known: slice | list[slice], device) -> torch.Tensor:
        gen = torch.ones(batch, frames, dtype=torch.bool, device=device)
        for s in known if isinstance(known, list) else [known]:
            gen[:, s] = False
        return gen

    def text_to_video(
        self, batch: int, frames: int, shape: tuple[int, int, int], actions=None, device="cpu"
    ) -> torch.Tensor:
        """A video of `frames` latent frames (C, H, W) from the prompt (and actions) alone."""
        blank = torch.zeros(batch, frames, *shape, device=device)
        return self.fill(blank, self._mask(batch, frames, slice(0, 0), device), actions)

    def image(self, batch: int, shape: tuple[int, int, int], device="cpu") -> torch.Tensor:
        """A single image: a one-latent-frame video."""
        return self.text_to_video(batch, 1, shape, device=device)

    def extend_forward(self, clip: torch.Tensor, new: int, actions=None) -> torch.Tensor:
        """Append `new` frames after `clip` (B, T, C, H, W); image->video is a one-frame clip."""
        b, t = clip.shape[:2]
        seq = torch.cat([clip, torch.zeros_like(clip[:, :1]).expand(-1, new, -1, -1, -1)], dim=1)
        return self.fill(seq, self._mask(b, t + new, slice(0, t), clip.device), actions)

    def image_to_video(self, image: torch.Tensor, frames: int, actions=None) -> torch.Tensor:
        """A video of `frames` latent frames starting at the one-frame latent `image` (B, 1, C, H, W)."""
        return self.extend_forward(image, frames - image.shape[1], actions)

    def extend_backward(self, clip: torch.Tensor, new: int, actions=None) -> torch.Tensor:
        """Prepend `new` frames that lead into `clip`."""
        b, t = clip.shape[:2]
        seq = torch.cat([torch.zeros_like(clip[:, :1]).expand(-1, new, -1, -1, -1), clip], dim=1)
        return self.fill(seq, self._mask(b, t + new, slice(new, new + t), clip.device), actions)

    def interpolate(
        self, first: torch.Tensor, last: torch.Tensor, between: int, actions=None
    ) -> torch.Tensor:
        """`between` frames bridging the end of `first` to the start of `last`."""
        b, ta, tb = first.shape[0], first.shape[1], last.shape[1]
        gap = torch.zeros_like(first[:, :1]).expand(-1, between, -1, -1, -1)
        seq = torch.cat([first, gap, last], dim=1)
        total = ta + between + tb
        return self.fill(
            seq,
            self._mask(b, total, [slice(0, ta), slice(ta + between, total)], first.device),
            actions,
        )

    def loop(self, anchor: torch.Tensor, frames: int, actions=None) -> torch.Tensor:
        """A `frames`-long video starting at `anchor` whose last frame leads back into its first."""
        if frames <= anchor.shape[1]:
            raise ValueError(
                f"loop of {frames} frames needs more than the anchor's {anchor.shape[1]}"
            )
        if actions is not None:  # the closing copy of the anchor repeats the anchor's actions
            actions = torch.cat([actions, actions[:, : anchor.shape[1]]], dim=1)
        seq = self.interpolate(anchor, anchor, frames - anchor.shape[1], actions)
        return seq[:, :frames]

    def edit(
        self, clip: torch.Tensor, strength: float, keep: int = 0, actions=None
    ) -> torch.Tensor:
        """SDEdit: noise `clip` to level `strength` in (0, 1] and denoise it, keeping its first `keep` frames."""
        if not 0.0 < strength <= 1.0:
            raise ValueError(
                f"edit strength {strength} must lie in (0, 1]; 0.3-0.7 keeps the layout"
            )
        b, t = clip.shape[:2]
        return self.fill(
            clip, self._mask(b, t, slice(0, keep), clip.device), actions, start=strength
        )

    def rollout(
        self,
        context: torch.Tensor,
        horizon: int,
        actions: torch.Tensor | None = None,
        window: int = 8,
        chunk: int = 1,
    ) -> torch.Tensor:
        """Autoregressive rollout: `chunk` frames at a time seeing the last `window - chunk` frames.

        context (B, Tc, ...); actions (B, Tc + horizon, A) per latent frame. Any horizon works.
        """
        if not 0 < chunk < window:
            raise ValueError(f"rollout chunk {chunk} must lie in [1, window={window})")
        seq = context
        while seq.shape[1] < context.shape[1] + horizon:
            new = min(chunk, context.shape[1] + horizon - seq.shape[1])
            start = max(0, seq.shape[1] - (window - new))
            ctx = seq[:, start:]
            act = None if actions is None else actions[:, start : seq.shape[1] + new]
            out = self.extend_forward(ctx, new, act)
            seq = torch.cat([seq, out[:, -new:]], dim=1)
        return seq
