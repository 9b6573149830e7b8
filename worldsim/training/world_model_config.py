"""The world model's optimiser and sampling knobs (`OptimConfig`, `SampleConfig`), apart from the
Lightning module: a job's `--help` and its config errors read them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from worldsim.config import ConfigError, closest, dotted_keys
from worldsim.diffusion.sampling_config import GuidanceConfig, SamplerConfig


@dataclass
class OptimConfig:
    """AdamW with linear warm-up and an optional linear cool-down (`lr_schedule.lr_factor`)."""

    lr: float = 3e-4  # peak learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    betas: tuple[float, float] = (0.9, 0.99)  # AdamW moment decays
    warmup_steps: int = 200  # steps of linear learning-rate warm-up from 0
    decay_steps: int = 0  # the last steps before train.max_steps, the rate falling to 0 (0: none)


@dataclass
class SampleConfig:
    """How the module samples (validation videos, predictor defaults)."""

    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)
    window: int = 8  # latent frames the model sees during autoregressive rollout
    chunk: int = 1  # latent frames generated per rollout step
    context_level: float = 0.0  # noise level the context is shown at (>0: Diffusion Forcing's
    # stabilisation of long rollouts, the model's own frames marked as imperfect)

    def __post_init__(self) -> None:  # the one check, wherever a job builds its sampling
        if not 0.0 <= self.context_level < 1.0:
            raise ConfigError(f"context_level={self.context_level} must lie in [0, 1) (0: clean)")


def with_sampling(sample_cfg: SampleConfig, overrides: str) -> SampleConfig:
    """`sample_cfg` with the comma-separated dotted `overrides` ("context_level=0.2" or
    "sampler.steps=20,context_level=0.3"; "" keeps it); a bad key or value is a ConfigError."""
    dotted = [o for o in overrides.split(",") if o]
    try:
        merged = OmegaConf.merge(OmegaConf.structured(sample_cfg), OmegaConf.from_dotlist(dotted))
    except ConfigKeyError as err:  # OmegaConf names the class it missed it in, not a key that fits
        keys = dotted_keys(SampleConfig)
        raise ConfigError(
            f"sampling={overrides!r}: unknown key '{err.full_key}'; {closest(err.full_key, keys)}"
        ) from None
    except OmegaConfBaseException as err:
        raise ConfigError(f"sampling={overrides!r}: {str(err).splitlines()[0]}") from None
    return OmegaConf.to_object(merged)
