"""The knobs of a generation's sampling (which sampler, its steps and shift, the guidance scales),
apart from the samplers themselves: a job's `--help` and its config errors read them without
importing torch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from worldsim.config import ConfigError

# the generation modes of `worldsim.diffusion.modes.MODES`, in its order, named here so that a
# config listing them (quickstart's cuda stages) needs no torch; tests/test_cli_startup.py checks
# that the two agree
MODE_NAMES = (
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


@dataclass
class GuidanceConfig:
    """Guidance scales: 1 = plain conditional model, 0 = drop that conditioning."""

    text_scale: float = 1.0  # classifier-free guidance scale of the prompt (>1: follow it more)
    action_scale: float = 1.0  # classifier-free guidance scale of the actions
    history_scale: float = 1.0  # fractional history guidance over known frames (1: off; DFoT HG-f)
    history_level: float = 0.4  # the noise level of the history in that guidance's extra term

    def __post_init__(self) -> None:
        if not 0.0 < self.history_level < 1.0:
            raise ConfigError(
                f"guidance.history_level={self.history_level} must lie in (0, 1): at 1 the "
                "history guidance compares pure noise with itself"
            )


@dataclass
class SamplerConfig:
    """Which sampler, how many steps, and the level shift of its grid."""

    name: str = "euler"  # euler | heun | renoise (few-step: clean estimate, noised anew)
    steps: int = 30  # denoising steps from noise to a clean frame
    shift: float = 1.0  # >1 spends more steps near noise (use the training resolution shift)
    eta: float = 0.0  # DDIM's eta: fresh noise in each step (0: the ODE, 1: DDPM; euler only)

    def __post_init__(self) -> None:
        if not 0.0 <= self.eta <= 1.0:
            raise ConfigError(f"sampler.eta={self.eta} must lie in [0, 1] (0: the ODE, 1: DDPM)")
        if self.eta and self.name != "euler":
            why = "draws all its noise anew" if self.name == "renoise" else "integrates the ODE"
            raise ConfigError(f"sampler.eta={self.eta} needs sampler.name=euler: {self.name} {why}")


@dataclass
class SamplerOverride:
    """A job's sampler knobs: each one left unset (null) is the checkpoint's own, the setting it
    was trained and evaluated with (`override_sampler`)."""

    name: str | None = None  # euler | heun | renoise (null: the checkpoint's)
    steps: int | None = None  # denoising steps from noise to a clean frame (null: the checkpoint's)
    shift: float | None = None  # >1 spends more steps near noise (null: the checkpoint's)
    eta: float | None = None  # DDIM's eta, 0-1: fresh noise in each step (null: the checkpoint's)


def override_sampler(trained: SamplerConfig, given: SamplerOverride) -> tuple[SamplerConfig, str]:
    """The sampler a checkpoint records (`trained`) with the knobs set in `given` replacing its
    own, and one line saying what it is and where each setting came from."""
    changed = {k: v for k, v in dataclasses.asdict(given).items() if v is not None}
    sampler = dataclasses.replace(trained, **changed)
    kept = [f.name for f in dataclasses.fields(SamplerConfig) if f.name not in changed]
    sources = (("from the command line", list(changed)), ("from the checkpoint", kept))
    origin = "; ".join(f"{where}: {', '.join(keys)}" for where, keys in sources if keys)
    line = (
        f"sampler {sampler.name}, {sampler.steps} steps, shift {sampler.shift:g}, "
        f"eta {sampler.eta:g} ({origin})"
    )
    return sampler, line


def override_context_level(trained: float, given: float | None) -> tuple[float, str]:
    """The context level a job samples with: `given` on the command line, else the checkpoint's
    own (`trained`), and the words saying which ("context level 0.2 (from the checkpoint)")."""
    level, where = (
        (trained, "from the checkpoint") if given is None else (given, "from the command line")
    )
    return level, f"context level {level:g} ({where})"


def refuse_unread_prompt(prompt: str, text_dim: int, ckpt: str) -> None:
    """A prompt given to a model trained without text would be dropped in silence: refused."""
    if prompt and not text_dim:
        raise ConfigError(f"prompt={prompt!r}: {ckpt} reads no text (trained without captions)")


def refuse_context(context: int, time_factor: int, frames: int | None, source: str) -> None:
    """A context of `context` pixel frames that is not whole latent frames (1 + time_factor k),
    or longer than the `frames` that `source` has (None: not read here), would be cut short in
    silence: refused, naming the longest that fits (sample and play alike)."""
    if context < 1 or (context - 1) % time_factor:
        raise ConfigError(f"context={context} must be 1 + {time_factor} k pixel frames")
    if frames is not None and context > frames:
        fits = 1 + (frames - 1) // time_factor * time_factor
        raise ConfigError(
            f"context={context} is more than the {frames} frame{'s' * (frames != 1)} of {source}; "
            f"give context={fits} or less"
        )
