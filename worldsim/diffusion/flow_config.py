"""The flow objective's training knobs (`FlowConfig`: noise levels, conditioning dropout), apart
from the objective: a job's `--help` and its config errors read them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from worldsim.config import ConfigError


@dataclass
class FlowConfig:
    """Training-time noise levels and conditioning dropout."""

    logit_mean: float = 0.0  # logit-normal timestep sampling (SD3)
    logit_std: float = 1.0  # spread of the logit-normal timesteps
    shift_base_tokens: int = 256  # tokens per frame at which the resolution shift is 1
    shift: bool = True  # shift levels towards noise for frames with more tokens than the base
    shared_prob: float = 0.3  # share of samples whose generated frames all share one level
    context_prob: float = (
        0.5  # share of samples with clean context frames (prefix/suffix/both ends)
    )
    context_noise: float = 0.0  # largest level put on context frames (GameNGen augmentation)
    context_estimate: float = 0.0  # share of samples whose context is the model's estimate of it
    context_estimate_level: float = 0.6  # largest level the context is estimated back from
    context_estimate_rounds: int = 1  # rounds of re-noising and re-estimating it (error compounds)
    rollout_share: float = 0.0  # share of each batch whose context is the model's own rollout
    rollout_frames: int = 8  # latent frames of each rollout (its last window - 1 are the context)
    rollout_pool: int = 512  # rollouts in the bank, per window bucket (data.resident only)
    rollout_refresh: int = 250  # training steps between the bank's rollouts
    rollout_carry: float = 0.0  # share of each refresh's rollouts going on from the last (dmd)
    dmd: bool = False  # distribution matching on bank contexts (Self Forcing; needs init=)
    dmd_fake_steps: int = 5  # the fake score's flow-loss steps per generator step (DMD2)
    dmd_level_low: float = 0.02  # lowest level a window is noised to for the matching gradient
    dmd_level_high: float = 0.98  # ... and highest (each window draws one, uniformly)
    dmd_flow_weight: float = 0.0  # the flow loss on true windows beside DMD's (one-step anchor)
    dmd_gan_weight: float = 0.0  # the generator's GAN loss against a realism critic (DMD2; 0: none)
    dmd_critic_weight: float = 0.01  # the critic's loss in the fake score's (dmd_gan_weight > 0)
    drop_text: float = 0.1  # classifier-free guidance dropout of the prompt
    drop_actions: float = 0.1  # ... and of the actions, independently
    # the flow loss weighs 1 + this on latent cells holding objects (encode's objects.npy; 0: off)
    object_weight: float = 0.0
    region_weight: float = 0.0  # the loss weighs 1 + this inside flow.region (0: off)
    # (top, bottom, left, right), fractions of the frame
    region: list[float] = field(default_factory=lambda: [0.0, 1.0, 0.0, 1.0])

    def __post_init__(self) -> None:
        if not 0.0 < self.dmd_level_low < self.dmd_level_high < 1.0:
            raise ConfigError(
                f"flow.dmd_level_low={self.dmd_level_low} and flow.dmd_level_high="
                f"{self.dmd_level_high} must satisfy 0 < low < high < 1"
            )
        if self.dmd_flow_weight < 0:
            raise ConfigError(f"flow.dmd_flow_weight={self.dmd_flow_weight} must be at least 0")
        if not 0.0 <= self.rollout_carry < 1.0:
            raise ConfigError(
                f"flow.rollout_carry={self.rollout_carry} must lie in [0, 1): the share of the "
                "bank's rollouts carried on from the last refresh"
            )
        if self.rollout_carry and not self.dmd:
            raise ConfigError(
                f"flow.rollout_carry={self.rollout_carry} needs flow.dmd=true: a carried rollout "
                "no longer matches its episode's next frame, which flow.rollout_share regresses on"
            )
        for name in ("dmd_gan_weight", "dmd_critic_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"flow.{name}={getattr(self, name)} must be at least 0")
        if self.dmd_gan_weight and not (self.dmd and self.dmd_critic_weight):
            raise ConfigError(
                f"flow.dmd_gan_weight={self.dmd_gan_weight} needs flow.dmd=true and a critic that "
                f"learns: flow.dmd_critic_weight > 0 (now {self.dmd_critic_weight})"
            )
        if self.object_weight < 0:
            raise ConfigError(f"flow.object_weight={self.object_weight} must be at least 0")
        if self.region_weight < 0:
            raise ConfigError(f"flow.region_weight={self.region_weight} must be at least 0")
        r = self.region  # checked for its length before its order
        if len(r) != 4 or not (0 <= r[0] < r[1] <= 1 and 0 <= r[2] < r[3] <= 1):
            raise ConfigError(
                f"flow.region={list(self.region)} must be [top, bottom, left, right], fractions "
                "of the frame with 0 <= top < bottom <= 1 and 0 <= left < right <= 1"
            )
        if self.dmd_fake_steps < 1:
            raise ConfigError(f"flow.dmd_fake_steps={self.dmd_fake_steps} must be at least 1")
        if self.context_estimate + self.rollout_share > 1:
            raise ConfigError(
                f"flow.context_estimate={self.context_estimate} and flow.rollout_share="
                f"{self.rollout_share} take more than the whole batch (the first rows and the "
                "last): lower one so that they sum to at most 1"
            )
