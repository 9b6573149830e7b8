"""Every generation mode as one operation: denoise the unknown latent frames beside clean known
ones; `MODES` is the registry that `sample`, `quickstart` and the tests read.

Latents are normalised (B, T, C, H, W). Each mode returns the whole sequence, known frames included
(returned exactly as given), so callers decode once. Actions, when used, are per latent frame
(B, T, A) aligned with the returned sequence, and so is the clock (B, T), each latent frame's env
step, which a DiT told the game clock (`model.clock_period`) needs in every mode.

Frames appended after a clean context (`extend_forward`, `image_to_video`, `rollout`) reuse the
context's keys/values when the DiT is frame-causal (`ContextModel`, exact), and can replay each
continuation as a CUDA graph (`cuda_graphs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from worldsim.diffusion.cuda_graphs import CudaGraphed
from worldsim.diffusion.guidance import GuidanceConfig, cat_rows, guided_velocity
from worldsim.diffusion.samplers import FlowSampler
from worldsim.models.clock import latent_clock
from worldsim.models.dit import ContextCache, DiT, TextBatch


class ContextModel:
    """The DiT's forward over the frames that follow a fixed context (clean, or noised to `level`
    once), reusing the context's keys/values (frame-causal attention): built on the first call,
    when the guidance batch (its variants stacked along the batch) is known, and read by every
    later denoising step."""

    def __init__(self, model: DiT, context: torch.Tensor, level: float = 0.0):
        self.model, self.context, self.level = model, context, level  # context (B, Tc, C, H, W)
        self.cache: ContextCache | None = None

    def __call__(
        self, x, levels, actions=None, text=None, drop_actions=None, drop_text=None, clock=None
    ):
        """Velocity of x (n B, T, C, H, W) after the context; actions, clock cover context + x."""
        tc = self.context.shape[1]
        if self.cache is None:
            context = self.context.repeat(x.shape[0] // self.context.shape[0], 1, 1, 1, 1)
            past, past_clock = (None if c is None else c[:, :tc] for c in (actions, clock))
            self.cache = self.model.prefill(
                context, past, text, drop_actions, drop_text, level=self.level, clock=past_clock
            )
        new, new_clock = (None if c is None else c[:, tc:] for c in (actions, clock))
        return self.model.step(x, levels, self.cache, new, text, drop_actions, drop_text, new_clock)


def at_context_level(velocity, generate: torch.Tensor, level: float):
    """`velocity` told that the frames outside `generate` (B, T) sit at noise `level`, not 0."""
    return lambda x, levels: velocity(x, torch.where(generate, levels, level))


def history_guided(
    velocity,
    generate: torch.Tensor,
    noised: torch.Tensor,
    level: float,
    noise: torch.Tensor,
    scale: float,
):
    """Fractional history guidance (HG-f of Song et al., 2025, "History-Guided Video Diffusion"):
    v(h) + (scale - 1) (v(h_k) - v(h_1)), where the history h (the frames outside `generate`
    (B, T)) is shown as given, noised to `level` k (`noised` (B, T, ...) holds it there), and
    as pure `noise` (B, T, ...). The extra term pulls the new frames towards what the history's
    coarse content, the part that survives noise at k, implies: a long rollout's frames are held
    to their past instead of drifting from it. `velocity` takes the three variants stacked along
    the batch (3 B rows) and is called once."""
    history = ~generate  # (B, T)
    frames = history.reshape(*history.shape, *([1] * (noised.dim() - 2)))

    def guided(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        xs = torch.cat([x, torch.where(frames, noised, x), torch.where(frames, noise, x)])
        shown = [torch.where(history, lv, levels) for lv in (level, 1.0)]
        v, v_k, v_1 = velocity(xs, torch.cat([levels, *shown])).chunk(3)
        return v + (scale - 1) * (v_k - v_1)

    return guided


class ModeRunner:
    """Runs the generation modes with one model, sampler, guidance and (optional) prompt batch.

    Each method is named after its mode in `MODES`.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        sampler: FlowSampler,
        guidance: GuidanceConfig | None = None,
        text: TextBatch | None = None,
        seed: int | list[int] = 0,
        kv_cache: bool = True,
        cuda_graphs: bool = False,
        context_level: float = 0.0,
        negative: TextBatch | None = None,
        negative_scale: float = 1.0,
    ):
        """`kv_cache`: frames generated after a clean context reuse its keys/values when the model
        is a frame-causal DiT (exact). `cuda_graphs`: those continuations replay a CUDA graph per
        shape (on CUDA; a plain call elsewhere). `context_level` > 0: continuations see their
        context noised to that level, and told so (Diffusion Forcing's stabilisation: the model
        treats its own earlier frames as imperfect instead of copying their errors forward).
        `seed`: one noise stream for the batch, or a list of G seeds, one stream per consecutive
        group of B / G rows (episodes imagined together draw what each draws alone). `negative`:
        negative prompts, encoded with `text` to one length, and the weight of what they say
        (see `guided_velocity`)."""
        if not 0.0 <= context_level < 1.0:
            raise ValueError(f"context_level {context_level} must lie in [0, 1)")
        self.model, self.sampler = model, sampler
        self.context_level = context_level
        self.guidance = guidance or GuidanceConfig()
        self.prompts, self.negative, self.negative_scale = text, negative, negative_scale
        self.rngs = [
            torch.Generator().manual_seed(s) for s in ([seed] if isinstance(seed, int) else seed)
        ]
        self.kv_cache = kv_cache and isinstance(model, DiT) and model.cfg.attention == "causal"
        self.continuation = CudaGraphed(self._continue, enabled=cuda_graphs)

    def noise(self, like: torch.Tensor) -> torch.Tensor:
        """Gaussian noise shaped like `like` (B, ...), each group of rows from its seeded stream."""
        groups = len(self.rngs)
        if like.shape[0] % groups:
            raise ValueError(f"batch {like.shape[0]} does not split into {groups} seeded groups")
        shape = (like.shape[0] // groups, *like.shape[1:])
        noise = torch.cat([torch.randn(shape, generator=rng) for rng in self.rngs])
        return noise.to(like.device, like.dtype)

    def _fresh(self, like: torch.Tensor) -> torch.Tensor | None:
        """The noise the sampler draws anew at its steps, (fresh_draws, *like.shape), from the
        seeded streams after the start noise (none for an ODE sampler, whose streams stay as
        they were)."""
        draws = self.sampler.fresh_draws
        return torch.stack([self.noise(like) for _ in range(draws)]) if draws else None

    def fill(
        self,
        known: torch.Tensor,
        generate: torch.Tensor,
        actions: torch.Tensor | None = None,
        start: float = 1.0,
        clock: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Denoise frames where `generate` (B, T) from level `start` (1 = pure noise) to 0; keep the
        rest."""
        mask = generate.reshape(*generate.shape, 1, 1, 1).to(known.device)
        x = torch.where(mask, (1 - start) * known + start * self.noise(known), known)
        generate = generate.to(known.device)
        velocity = self._history_velocity(actions, known, generate, clock)
        return self.sampler.sample(velocity, x, generate, start, self._fresh(known))

    def _velocity(self, model, actions: torch.Tensor | None, rows: int = 1, clock=None):
        """`model` (the DiT, or a `ContextModel` of it) under this runner's prompts and guidance,
        for `rows` copies of the runner's batch stacked along it."""
        conditions = actions, self.prompts, self.negative, clock
        if rows > 1:  # every conditioning stacked alike (None stays None)
            conditions = tuple(cat_rows([c] * rows) for c in conditions)
        actions, prompts, negative, clock = conditions
        return guided_velocity(
            model, actions, prompts, self.guidance, negative, self.negative_scale, clock=clock
        )

    def _history_velocity(self, actions, clean: torch.Tensor, generate: torch.Tensor, clock=None):
        """The DiT under this runner's guidance, with history guidance (`history_guided`) over
        the frames of `clean` (B, T, ...) outside `generate` (B, T) when its scale is not 1 and
        there are such frames."""
        scale, level = self.guidance.history_scale, self.guidance.history_level
        if scale == 1.0 or generate.all():  # off (no sync then), or no known frame to guide by
            return self._velocity(self.model, actions, clock=clock)
        noise = self.noise(clean)  # drawn only with the guidance on: rollouts without it keep
        # their noise stream
        noised = (1 - level) * clean + level * noise
        velocity = self._velocity(self.model, actions, rows=3, clock=clock)
        return history_guided(velocity, generate, noised, level, noise, scale)

    @staticmethod
    def _mask(batch: int, frames: int, known: slice | list[slice], device) -> torch.Tensor:
        gen = torch.ones(batch, frames, dtype=torch.bool, device=device)
        for s in known if isinstance(known, list) else [known]:
            gen[:, s] = False
        return gen

    def text(
        self,
        batch: int,
        frames: int,
        shape: tuple[int, int, int],
        actions=None,
        device="cpu",
        clock=None,
    ) -> torch.Tensor:
        """A video of `frames` latent frames (C, H, W) from the prompt (and actions) alone."""
        blank = torch.zeros(batch, frames, *shape, device=device)
        mask = self._mask(batch, frames, slice(0, 0), device)
        return self.fill(blank, mask, actions, clock=clock)

    def image(
        self, batch: int, shape: tuple[int, int, int], device="cpu", clock=None
    ) -> torch.Tensor:
        """A single image: a one-latent-frame video."""
        return self.text(batch, 1, shape, device=device, clock=clock)

    def extend_forward(
        self, clip: torch.Tensor, new: int, actions=None, clock=None
    ) -> torch.Tensor:
        """Append `new` frames after `clip` (B, T, C, H, W); image->video is a one-frame clip."""
        b, t = clip.shape[:2]
        # noise drawn for the whole sequence, as `fill` does: the same stream either way
        noise = self.noise(torch.empty(b, t + new, *clip.shape[2:], dtype=clip.dtype))[:, t:]
        # the context as shown, drawn here and not inside a CUDA graph (drawn after the new
        # frames' noise, as it always was: the same streams give the same rollouts)
        shown = self._shown_context(clip)
        noise = noise.to(clip.device)
        fresh = self._fresh(noise)  # (S, B, Tn, C, H, W) or None
        new_frames = self.continuation(clip, shown, noise, actions, fresh, clock)
        return torch.cat([clip, new_frames], 1)

    def _continue(self, clip, shown, noise: torch.Tensor, actions=None, fresh=None, clock=None):
        """New frames (B, Tn, C, H, W) denoised from `noise` after the clean `clip` (B, Tc, ...),
        which the model sees as `shown` (`_shown_context`); `fresh` (S, B, Tn, ...) the
        sampler's noise drawn anew."""
        b, t = clip.shape[:2]
        # the cache holds one context, clean or noised to context_level (its noise and level stay
        # fixed over the denoising steps); the history guidance's three go through the full forward
        plain = self.guidance.history_scale == 1.0
        if self.kv_cache and t % self.model.cfg.patch[0] == 0 and plain:
            context = ContextModel(self.model, shown, self.context_level)
            velocity = self._velocity(context, actions, clock=clock)
            generate = torch.ones(noise.shape[:2], dtype=torch.bool, device=noise.device)
            return self.sampler.sample(velocity, noise, generate, fresh=fresh)
        seq = torch.cat([shown, noise], dim=1)
        generate = self._mask(b, seq.shape[1], slice(0, t), clip.device)
        velocity = self._history_velocity(actions, torch.cat([clip, noise], 1), generate, clock)
        if self.context_level:
            velocity = at_context_level(velocity, generate, self.context_level)
        if fresh is not None:  # the context's frames take no step: zeros in their place
            fresh = torch.cat([fresh.new_zeros(fresh.shape[0], b, t, *fresh.shape[3:]), fresh], 2)
        return self.sampler.sample(velocity, seq, generate, fresh=fresh)[:, t:]

    def _shown_context(self, clip: torch.Tensor) -> torch.Tensor:
        """The context as the model sees it: clean, or noised to `context_level` once (the noise
        stays fixed over the denoising steps, as a context frame's does in training)."""
        k = self.context_level
        return (1 - k) * clip + k * self.noise(clip) if k else clip

    def image_to_video(
        self, image: torch.Tensor, frames: int, actions=None, clock=None
    ) -> torch.Tensor:
        """A video of `frames` latent frames from the one-frame latent `image` (B, 1, C, H, W)."""
        return self.extend_forward(image, frames - image.shape[1], actions, clock)

    def extend_backward(self, clip: torch.Tensor, new: int, actions=None, clock=None):
        """Prepend `new` frames that lead into `clip`."""
        b, t = clip.shape[:2]
        seq = torch.cat([torch.zeros_like(clip[:, :1]).expand(-1, new, -1, -1, -1), clip], dim=1)
        mask = self._mask(b, t + new, slice(new, new + t), clip.device)
        return self.fill(seq, mask, actions, clock=clock)

    def interpolate(
        self, first: torch.Tensor, last: torch.Tensor, between: int, actions=None, clock=None
    ) -> torch.Tensor:
        """`between` frames bridging the end of `first` to the start of `last` (the clock, like
        the actions, covers first + between + last: time runs on through the bridge)."""
        b, ta, tb = first.shape[0], first.shape[1], last.shape[1]
        gap = torch.zeros_like(first[:, :1]).expand(-1, between, -1, -1, -1)
        seq = torch.cat([first, gap, last], dim=1)
        total = ta + between + tb
        mask = self._mask(b, total, [slice(0, ta), slice(ta + between, total)], first.device)
        return self.fill(seq, mask, actions, clock=clock)

    def loop(self, anchor: torch.Tensor, frames: int, actions=None, clock=None) -> torch.Tensor:
        """A `frames`-long video starting at `anchor` whose last frame leads back into its first;
        `clock` covers the video and the closing copy of the anchor after it."""
        if frames <= anchor.shape[1]:
            raise ValueError(
                f"loop of {frames} frames needs more than the anchor's {anchor.shape[1]}"
            )
        if actions is not None:  # the closing copy of the anchor repeats the anchor's actions
            actions = torch.cat([actions, actions[:, : anchor.shape[1]]], dim=1)
        seq = self.interpolate(anchor, anchor, frames - anchor.shape[1], actions, clock)
        return seq[:, :frames]

    def edit(
        self, clip: torch.Tensor, strength: float, keep: int = 0, actions=None, clock=None
    ) -> torch.Tensor:
        """SDEdit: noise `clip` to level `strength` in (0, 1] and denoise it; the first `keep` stay
        unchanged."""
        if not 0.0 < strength <= 1.0:
            raise ValueError(
                f"edit strength {strength} must lie in (0, 1]; 0.3-0.7 keeps the layout"
            )
        b, t = clip.shape[:2]
        mask = self._mask(b, t, slice(0, keep), clip.device)
        return self.fill(clip, mask, actions, start=strength, clock=clock)

    def rollout(
        self,
        context: torch.Tensor,
        horizon: int,
        actions: torch.Tensor | None = None,
        window: int = 8,
        chunk: int = 1,
        clock: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Autoregressive rollout: `chunk` frames at a time seeing the last `window - chunk` frames.

        context (B, Tc, ...); actions (B, Tc + horizon, A) and clock (B, Tc + horizon) per latent
        frame. Any horizon works.
        """
        if not 0 < chunk < window:
            raise ValueError(f"rollout chunk {chunk} must lie in [1, window={window})")
        seq = context
        while seq.shape[1] < context.shape[1] + horizon:
            new = min(chunk, context.shape[1] + horizon - seq.shape[1])
            start = max(0, seq.shape[1] - (window - new))
            ctx = seq[:, start:]
            span = slice(start, seq.shape[1] + new)
            act, clk = (None if c is None else c[:, span] for c in (actions, clock))
            out = self.extend_forward(ctx, new, act, clk)
            seq = torch.cat([seq, out[:, -new:]], dim=1)
        return seq


# ---------------------------------------------------------------------------- the registry


@dataclass
class ModeInputs:
    """What a mode may read. Latents are normalised (B, T, C, H, W); actions per latent frame."""

    batch: int  # samples generated at once
    new: int  # latent frames to generate
    shape: tuple[int, int, int]  # (C, H, W) of one latent frame of a text or image generation
    device: str | torch.device = "cpu"
    frames: int = 0  # pixel frames of the input video (0: no input)
    context: int = 0  # pixel frames of the input used as context, 1 + time_factor k
    time_factor: int = 4  # pixel frames per latent frame after the first
    encode: Callable[[slice], torch.Tensor] | None = None  # input pixel frames -> latents
    encode_second: Callable[[slice], torch.Tensor] | None = None  # the same for input2
    actions: Callable[[int], torch.Tensor | None] = lambda latent_frames: None  # the first n
    strength: float = 0.6  # edit: noise level the input is pushed to
    window: int = 8  # rollout: latent frames the model sees
    chunk: int = 1  # rollout: latent frames per step
    clocked: bool = False  # the model is told the game clock (every mode passes one)
    first_step: int = 0  # env step of the input's first frame (of the generation's, without one)

    def latent_frames(self, pixel_frames: int) -> int:
        """Latent frames that encode 1 + time_factor k pixel frames."""
        return (pixel_frames - 1) // self.time_factor + 1

    def clock(self, pixel: int, frames: int) -> torch.Tensor | None:
        """The clock (batch, frames) of `frames` latent frames whose first is pixel frame `pixel`
        of the input (negative: before it); None for a model without a clock."""
        if not self.clocked:
            return None
        steps = latent_clock(self.first_step + pixel, frames, self.time_factor)  # (frames,)
        return steps.expand(self.batch, -1).to(self.device)


@dataclass(frozen=True)
class Mode:
    """A generation mode: its name, what it reads besides the prompt, and how it runs."""

    name: str
    help: str
    needs_input: bool  # reads the input video (ModeInputs.encode)
    reads: tuple[str, ...]  # further inputs: input2, strength, actions, window, chunk
    run: Callable[[ModeRunner, ModeInputs], torch.Tensor]  # -> latents (B, T, C, H, W)
    image: bool = False  # the result is one frame (saved as .png)
    # how often it runs the sampler, `sampler.steps` steps each (a progress bar's total)
    samplings: Callable[[ModeInputs], int] = lambda i: 1


def _text(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    return r.text(i.batch, 1 + i.new, i.shape, device=i.device, clock=i.clock(0, 1 + i.new))


def _image(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    return r.image(i.batch, i.shape, device=i.device, clock=i.clock(0, 1))


def _image_to_video(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    frames = 1 + i.new
    return r.image_to_video(i.encode(slice(0, 1)), frames, i.actions(frames), i.clock(0, frames))


def _extend_forward(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    frames = i.latent_frames(i.context) + i.new
    clip = i.encode(slice(0, i.context))
    return r.extend_forward(clip, i.new, i.actions(frames), i.clock(0, frames))


def _extend_backward(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    # frames before the input have no recorded actions: null action; its clock runs backwards
    first = i.frames - i.context - i.time_factor * i.new  # pixel frame of the first new one
    clock = i.clock(first, i.new + i.latent_frames(i.context))
    return r.extend_backward(i.encode(slice(-i.context, None)), i.new, clock=clock)


def _interpolate(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    second = i.encode_second or i.encode
    clock = i.clock(0, 2 * i.latent_frames(i.context) + i.new)  # time runs on through the bridge
    first, last = i.encode(slice(0, i.context)), second(slice(-i.context, None))
    return r.interpolate(first, last, i.new, clock=clock)


def _loop(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    anchor = (
        i.encode(slice(0, 1))
        if i.encode
        else r.image(i.batch, i.shape, device=i.device, clock=i.clock(0, 1))
    )
    return r.loop(anchor, 1 + i.new, clock=i.clock(0, 2 + i.new))  # the anchor's copy closes it


def _edit(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    tf = i.time_factor
    frames = 1 + (min(i.frames, 1 + tf * i.new) - 1) // tf * tf  # whole latent frames
    latent = i.latent_frames(frames)
    clip = i.encode(slice(0, frames))
    return r.edit(clip, i.strength, actions=i.actions(latent), clock=i.clock(0, latent))


def _rollout(r: ModeRunner, i: ModeInputs) -> torch.Tensor:
    frames = i.latent_frames(i.context) + i.new
    actions, clock = i.actions(frames), i.clock(0, frames)
    clip = i.encode(slice(0, i.context))
    return r.rollout(clip, i.new, actions, i.window, i.chunk, clock)


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("text", "text->video from the prompt alone", False, (), _text),
        Mode("image", "a single frame from the prompt", False, (), _image, image=True),
        Mode(
            "image_to_video",
            "a video from the input's first frame",
            True,
            ("actions",),
            _image_to_video,
        ),
        Mode("extend_forward", "continue the input", True, ("actions",), _extend_forward),
        Mode("extend_backward", "frames that lead into the input", True, (), _extend_backward),
        Mode("interpolate", "bridge the input to input2", True, ("input2",), _interpolate),
        Mode(
            "loop",
            "a video whose end leads back into its start",
            False,
            (),
            _loop,
            samplings=lambda i: 1 if i.encode else 2,  # no input: its anchor image first
        ),
        Mode("edit", "SDEdit of the input", True, ("strength", "actions"), _edit),
        Mode(
            "rollout",
            "autoregressive, any length",
            True,
            ("actions", "window", "chunk"),
            _rollout,
            samplings=lambda i: -(-i.new // i.chunk),  # a window per chunk of new frames
        ),
    )
}
