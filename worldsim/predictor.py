"""`DiTPredictor`: the trained world model behind the evals' `VideoModel` protocol (pixels in,
pixels out)."""

from __future__ import annotations

import dataclasses

import torch

from worldsim.diffusion.samplers import make_sampler
from worldsim.models.latents import encode_video
from worldsim.training.world_model import SampleConfig, WorldModel, load_world_model

OVERRIDES = (
    "sampler",
    "steps",
    "shift",
    "eta",
    "text_scale",
    "action_scale",
    "window",
    "chunk",
    "context_level",
    "seed",
    "autoencoder",
)


class DiTPredictor:
    """Encodes the context, rolls the DiT forward autoregressively in latent space, decodes."""

    def __init__(self, module: WorldModel, sample: SampleConfig, seed: int = 0):
        self.module, self.sample, self.seed = module, sample, seed
        self.first_steps: list[int] | None = None  # env step of each context's first frame
        if module.autoencoder() is None:
            raise FileNotFoundError(
                f"autoencoder checkpoint '{module.latent_info.autoencoder}' of this world model "
                "is missing; pass autoencoder=PATH"
            )

    @classmethod
    def from_checkpoint(cls, path: str, device: str = "cpu", **overrides) -> DiTPredictor:
        """Load a world-model checkpoint; overrides: sampler, steps, shift, eta, text_scale,
        action_scale, window, chunk, context_level, seed, autoencoder (path of the VAE
        checkpoint). Every sampling knob not overridden is the checkpoint's own."""
        unknown = set(overrides) - set(OVERRIDES)
        if unknown:
            raise ValueError(
                f"unknown DiTPredictor overrides {sorted(unknown)}; valid: {', '.join(OVERRIDES)}"
            )
        module = load_world_model(path, device)
        if "autoencoder" in overrides:
            module.use_autoencoder(overrides["autoencoder"])
        s = module.sample_cfg
        sample = SampleConfig(
            sampler=dataclasses.replace(
                s.sampler,
                name=overrides.get("sampler", s.sampler.name),
                steps=overrides.get("steps", s.sampler.steps),
                shift=overrides.get("shift", s.sampler.shift),
                eta=overrides.get("eta", s.sampler.eta),
            ),
            guidance=dataclasses.replace(
                s.guidance,
                text_scale=overrides.get("text_scale", s.guidance.text_scale),
                action_scale=overrides.get("action_scale", s.guidance.action_scale),
            ),
            window=overrides.get("window", s.window),
            chunk=overrides.get("chunk", s.chunk),
            # the checkpoint's: a file that ships a context level samples with it (RESULTS 25)
            context_level=overrides.get("context_level", s.context_level),
        )
        make_sampler(sample.sampler)  # bad steps or shift refused now, not at the first sample
        return cls(module, sample, overrides.get("seed", 0))

    def at_step(self, first_steps: list[int]) -> None:
        """The env step of each row's first context frame in the next `predict` calls (the
        `evals.suite.Clocked` protocol; a model told the game clock needs it)."""
        self.first_steps = list(first_steps)

    @torch.no_grad()
    def predict(
        self, context: torch.Tensor, actions: torch.Tensor, prompts: list[str], horizon: int
    ) -> torch.Tensor:
        """context (B, Tc, C, H, W) in [-1, 1], actions (B, Tc + horizon, A)
        -> (B, horizon, C, H, W)."""
        m, tf = self.module, self.module.latent_info.time_factor
        tc = context.shape[1]
        if tc < 1 or actions.shape[1] < tc + horizon:
            raise ValueError(
                f"predict needs >= 1 context frame and Tc + horizon = {tc + horizon} actions; "
                f"got context {tuple(context.shape)}, actions {tuple(actions.shape)}"
            )
        used = 1 + (tc - 1) // tf * tf  # the VAE encodes 1 + tf k frames: keep the latest such run
        offset = tc - used
        clip = context[:, offset:].to(m.device, torch.float32)
        z = m.normalise(encode_video(m.autoencoder(), clip))  # (B, T', c, h, w)
        new = -(-horizon // tf)
        acts = m.latent_actions(actions[:, offset:].float(), z.shape[1] + new)
        clock = None
        if m.model_cfg.clock_period:
            if self.first_steps is None or len(self.first_steps) != len(prompts):
                raise ValueError(
                    f"this model is told the game clock (model.clock_period="
                    f"{m.model_cfg.clock_period}): call at_step(first_steps) with one env step "
                    "per context before predict"
                )
            first = torch.tensor(self.first_steps) + offset  # (B,) of the first encoded frame
            clock = m.clock(first, z.shape[1] + new)
        runner = m.mode_runner(list(prompts), self.seed, self.sample)
        seq = runner.rollout(z, new, acts, self.sample.window, self.sample.chunk, clock)
        video = m.decode(seq)  # (B, used + tf new, C, H, W)
        return video[:, used : used + horizon].float().cpu()

    def config(self) -> dict:
        """The sampling settings in use (for eval reports)."""
        return {"seed": self.seed, **dataclasses.asdict(self.sample)}
