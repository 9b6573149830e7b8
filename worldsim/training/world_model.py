"""LightningModule of the world model: the DiT trained with per-frame rectified flow on latents."""

from __future__ import annotations

import copy
import dataclasses
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import lightning as L
import numpy as np
import torch
from einops import rearrange

from worldsim.config import ConfigError, from_dict
from worldsim.diffusion.dmd import (
    critic_loss,
    dmd_loss,
    exit_estimate,
    fooling_loss,
    matching_levels,
)
from worldsim.diffusion.flow import (
    FlowConfig,
    clean_estimate,
    conditioning_dropout,
    context_estimate_levels,
    flow_loss,
    noised_context,
    noisy,
    region_shares,
    rollout_levels,
    sample_levels,
    velocity_target,
)
from worldsim.diffusion.guidance import guided_velocity
from worldsim.diffusion.modes import ModeRunner, at_context_level
from worldsim.diffusion.samplers import make_sampler
from worldsim.models.checkpoint import CheckpointError, read_checkpoint
from worldsim.models.clock import latent_clock
from worldsim.models.dit import DiT, DiTConfig, TextBatch
from worldsim.models.latents import actions_per_latent_frame, decode_latents
from worldsim.models.realism_head import RealismHead
from worldsim.models.text import TextConfig, TextTable, load_caption_embedder
from worldsim.training.loggers import write_metrics
from worldsim.training.lr_schedule import lr_factor
from worldsim.training.rollout_bank import RolloutBank
from worldsim.training.world_model_config import OptimConfig, SampleConfig


@dataclass
class LatentInfo:
    """What the latents are: per-channel stats for normalising, the autoencoder that made them."""

    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    time_factor: int = 4
    space_factor: int = 4
    autoencoder: str = ""  # checkpoint path of the VAE (decoding samples)


def first_rows(value, k: int):
    """The first k samples of a conditioning value: a tensor (B, ...), a TextBatch, or None."""
    if value is None:
        return None
    return value.rows(slice(k)) if isinstance(value, TextBatch) else value[:k]


class WorldModel(L.LightningModule):
    """Trains `self.model` (DiT) on normalised latent windows; samples with the generation modes."""

    def __init__(
        self,
        model: DiTConfig | dict,
        flow: FlowConfig | dict,
        optim: OptimConfig | dict,
        text: TextConfig | dict,
        sample: SampleConfig | dict,
        latents: LatentInfo | dict,
    ):
        super().__init__()
        self.model_cfg = from_dict(DiTConfig, model, "model")
        self.flow = from_dict(FlowConfig, flow, "flow")
        self.optim_cfg = from_dict(OptimConfig, optim, "optim")
        self.text_cfg = from_dict(TextConfig, text, "text")
        self.sample_cfg = from_dict(SampleConfig, sample, "sample")
        self.latent_info = from_dict(LatentInfo, latents, "latents")
        self.save_hyperparameters(self.hyper_parameters())
        self.model = DiT(self.model_cfg)
        # Frozen helpers loaded on first use. Set with object.__setattr__ so that nn.Module does not
        # adopt them: they are referenced by path, and must stay out of checkpoints (a resumed run
        # starts without them).
        object.__setattr__(self, "_captions", None)
        # Embeddings of every caption sentence the model was trained on (the latent cache's
        # text.npz); exported with the weights, so known captions need no text encoder.
        self.text_table: TextTable | None = None
        object.__setattr__(self, "_autoencoder", None)
        self.generator = torch.Generator().manual_seed(0)
        # flow.rollout_share: contexts rolled out by the model itself (built on the first step)
        self.rollout_bank: RolloutBank | None = None
        # flow.dmd: the frozen real score and the trained fake score (`start_matching`), copies
        # of the init that training builds; a loaded file samples without them
        self.real: DiT | None = None
        self.fake: DiT | None = None
        self.critic: RealismHead | None = None  # flow.dmd_gan_weight: on F's features
        # optimiser steps of the run that wrote these weights (not its init's); None: not recorded
        # (files exported before session 24). Exports carry it, so a snapshot says how far it got.
        self.run_steps: int | None = None

    def hyper_parameters(self) -> dict[str, dict]:
        """The constructor arguments as plain dicts (what checkpoints store)."""
        return {
            k: dataclasses.asdict(v)
            for k, v in (
                ("model", self.model_cfg),
                ("flow", self.flow),
                ("optim", self.optim_cfg),
                ("text", self.text_cfg),
                ("sample", self.sample_cfg),
                ("latents", self.latent_info),
            )
        }

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Every Lightning checkpoint (ema, last, periodic) carries the caption table, so that an
        export of any of them conditions on the training captions without the text encoder."""
        if self.text_table is not None:
            checkpoint["text_table"] = self.text_table.checkpoint_state()

    # ---------------------------------------------------------------- conditioning
    def set_text_table(self, table: TextTable | None) -> None:
        """Read caption sentences from `table` (the text encoder loads only for new ones)."""
        self.text_table = table
        object.__setattr__(self, "_captions", None)

    def encode_text(self, captions: list[str] | None) -> TextBatch | None:
        """Prompts -> TextBatch on this module's device (None without text conditioning)."""
        if not self.model_cfg.text_dim or captions is None:
            return None
        if self._captions is None:
            embedder = load_caption_embedder(self.text_cfg, self.text_table)
            object.__setattr__(self, "_captions", embedder)
        return TextBatch(*self._upload(*self._captions.encode(list(captions))))

    def _actions(self, batch: dict[str, Any]) -> torch.Tensor | None:
        return batch["actions"] if self.model_cfg.action_dim else None

    def latent_actions(self, actions: torch.Tensor, latent_frames: int) -> torch.Tensor | None:
        """Pixel-frame codec vectors (B, T, A) from latent frame 0 -> the DiT's actions
        (B, latent_frames, A') on the device, with `model.action_ages` their ages after them,
        counted from the first frame given (pass an episode's from its reset); None for a model
        without actions."""
        cfg = self.model_cfg
        if not cfg.action_dim:
            return None
        tf, ages = self.latent_info.time_factor, cfg.action_ages
        return actions_per_latent_frame(actions, latent_frames, cfg.action_dim, tf, ages).to(
            self.device
        )

    def clock(self, first_step, frames: int) -> torch.Tensor | None:
        """The clock (..., frames) of `frames` latent frames whose first is the env step
        `first_step` (an int, or a tensor (...) of one per row), on the device; None for a model
        not told the clock, which needs none."""
        if not self.model_cfg.clock_period:
            return None
        return latent_clock(first_step, frames, self.latent_info.time_factor).to(self.device)

    def _clock(self, batch: dict[str, Any]) -> torch.Tensor | None:
        """The windows' clock (B, T) on the device, for a model told it (else None)."""
        return batch["clock"].to(self.device) if self.model_cfg.clock_period else None

    def tokens_per_frame(self, latents: torch.Tensor) -> int:
        _, ph, pw = self.model_cfg.patch
        return -(-latents.shape[-2] // ph) * -(-latents.shape[-1] // pw)

    # ---------------------------------------------------------------- training
    def loss(
        self,
        batch: dict[str, Any],
        generator: torch.Generator | None = None,
        dit: DiT | None = None,
        dropped: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Per-frame rectified-flow loss on one batch with conditioning dropout. The batch holds
        "caption" strings, or (device-resident batches) their embeddings as "text". `dit`: the
        network trained (default the world model's; flow.dmd's fake score learns its windows
        this way, without the context estimates, which are the world model's own). `dropped`:
        the (B,) masks (actions, text) of the rows' dropout, on the device, instead of drawing
        them (flow.dmd: those the world model made the windows under)."""
        x0 = batch["latents"]  # (B, T, C, H, W)
        b, t = x0.shape[:2]
        gen = generator or self.generator
        rolled = batch.get("rollout_rows", 0)  # the last rows: contexts from the rollout bank
        tokens = self.tokens_per_frame(x0)
        levels = sample_levels(b - rolled, t, tokens, self.flow, gen)  # (B - rolled, T)
        if rolled:
            levels = torch.cat([levels, rollout_levels(rolled, t, tokens, self.flow, gen)])
        # flow.context_estimate: the levels (K, T) of each pass that re-estimates the first K
        # samples' context (flow.context_estimate_rounds passes)
        estimate = ()
        if self.flow.context_estimate and dit is None:
            rounds = range(self.flow.context_estimate_rounds)
            estimate = tuple(context_estimate_levels(levels, self.flow, gen) for _ in rounds)
        levels, inputs, *estimate = self._upload(
            levels,
            noised_context(levels, self.flow, gen),  # (B, T) what the model sees
            *estimate,
        )
        drop_a, drop_t = dropped or self.dropout(b, gen)
        cond = dict(
            actions=self._actions(batch),
            text=batch["text"] if "text" in batch else self.encode_text(batch.get("caption")),
            drop_actions=drop_a,
            drop_text=drop_t,
            clock=self._clock(batch),
        )
        noise = self._noise(x0, generator)
        context = x0
        if estimate:
            context = self._estimated_context(x0, estimate, levels, cond, generator)
        pred = (dit or self.model)(noisy(context, noise, inputs), inputs, **cond)
        # the target is the true frames' velocity: `context` differs from x0 only in context
        # frames, which carry no loss
        return flow_loss(pred, velocity_target(x0, noise), levels, self.loss_weights(batch))

    def loss_weights(self, batch: dict[str, Any]) -> torch.Tensor | None:
        """The flow loss's cell weights, broadcast to (B, T, 1, H, W): 1 + flow.object_weight x
        each latent cell's object share + flow.region_weight x its share inside flow.region. The
        object term only where the batch has objects, the region term only in training mode:
        validation windows keep the unweighted loss, comparable across runs. None: every cell
        alike."""
        x0 = batch["latents"]  # (B, T, C, H, W)
        extra = []
        if self.flow.object_weight and "objects" in batch:
            objects = rearrange(batch["objects"], "b t h w -> b t 1 h w")
            extra.append(self.flow.object_weight * objects)
        if self.flow.region_weight and self.training:
            # made on the device: a host tensor's upload each step would stall the queue
            region = region_shares(*x0.shape[-2:], self.flow.region, x0.device)  # (H, W)
            extra.append(self.flow.region_weight * region)
        return 1 + sum(extra) if extra else None

    def dropout(self, b: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Classifier-free guidance dropout of b rows: (B,) masks (actions, text) on the device."""
        # text drawn first, as every run before flow.dmd shared the masks: the same draws
        drop_text = conditioning_dropout(b, self.flow.drop_text, generator)
        drop_actions = conditioning_dropout(b, self.flow.drop_actions, generator)
        return self._upload(drop_actions, drop_text)

    @staticmethod
    def _noise(x0: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Training noise like x0, from the (seeded) device RNG: drawing it on the CPU stalls the
        GPU; from `generator` on the host when one is given (validation)."""
        if generator is None:
            return torch.randn_like(x0)
        return torch.randn(x0.shape, generator=generator).to(x0)

    @torch.no_grad()
    def _estimated_context(self, x0, rounds, levels, cond, generator) -> torch.Tensor:
        """x0 (B, T, C, H, W) with the clean context frames (`levels` (B, T) == 0) of its first K
        samples swapped for the model's one-step clean estimates x_t - t v, one round per levels
        (K, T) of `rounds`, each round estimating back from the last one's estimate: context
        with the model's own kind of error, compounded as over a long rollout
        (flow.context_estimate_levels)."""
        k = rounds[0].shape[0]
        if k == 0:  # a batch too small for the share
            return x0
        head = x0[:k]  # (K, T, C, H, W)
        replace = rearrange(levels[:k] == 0, "k t -> k t 1 1 1")
        cond = {name: first_rows(c, k) for name, c in cond.items()}
        for est_levels in rounds:
            x_t = noisy(head, self._noise(head, generator), est_levels)
            estimate = clean_estimate(x_t, self.model(x_t, est_levels, **cond), est_levels)
            head = torch.where(replace, estimate, head)  # (K, T, C, H, W)
        return torch.cat([head, x0[k:]])

    def _upload(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Host tensors (seeded levels, dropout masks, caption embeddings) to the device; on CUDA
        through pinned memory without blocking, since a pageable copy makes the host wait for the
        GPU."""
        if self.device.type != "cuda":
            return tuple(x.to(self.device) for x in tensors)
        return tuple(x.pin_memory().to(self.device, non_blocking=True) for x in tensors)

    def with_rollouts(self, batch: dict[str, Any], share: float) -> dict[str, Any]:
        """A resident batch with its last `share` of samples taken from the rollout bank, rolled
        again every flow.rollout_refresh steps (`RolloutBank`)."""
        resident = self.trainer.datamodule.resident
        if self.rollout_bank is None:
            seed = self.trainer.datamodule.cfg.seed  # the run's batch-order seed
            self.rollout_bank = RolloutBank(
                self.flow.rollout_frames,
                self.flow.rollout_pool,
                seed,
                carry=self.flow.rollout_carry,
            )
        index = self.global_step // self.flow.rollout_refresh
        if self.rollout_bank.index != index:
            began = time.monotonic()
            self.rollout_bank.refresh(resident, self.bank_rollout, index)
            if self.device.type == "cuda":  # a host sync once a refresh, to time the rollouts
                torch.cuda.synchronize(self.device)
            # what a refresh costs in training steps (the first also compiles the rollout's
            # shapes), and how far past the true windows DMD reaches: once a refresh, at its step
            metrics = {"perf/bank_refresh_s": time.monotonic() - began}
            ages = self.rollout_bank.ages().float()  # (N,) latent frames since a true window
            if len(ages):
                metrics |= {"train/bank_age_mean": ages.mean(), "train/bank_age_max": ages.max()}
            write_metrics(self.trainer, {k: float(v) for k, v in metrics.items()}, self.global_step)
        rows = round(batch["latents"].shape[0] * share)
        return self.rollout_bank.mix(resident, batch, rows)

    @torch.no_grad()
    def bank_rollout(self, context, frames, actions, text, seed) -> torch.Tensor:
        """The bank's rollout: context (P, T-1, C, H, W) continued `frames` latent frames, one at
        a time seeing the last T - 1, under this module's sampling (sampler, guidance, context
        level) as a shipped model samples. Train mode kept: the compiled blocks' graphs serve."""
        runner = ModeRunner(
            self.model,
            make_sampler(self.sample_cfg.sampler),
            self.sample_cfg.guidance,
            text,
            seed,
            context_level=self.sample_cfg.context_level,
        )
        actions = actions if self.model_cfg.action_dim else None
        return runner.rollout(context, frames, actions, window=context.shape[1] + 1)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        if self.flow.dmd:
            return self.matching_step(batch)
        if self.flow.rollout_share:
            batch = self.with_rollouts(batch, self.flow.rollout_share)
        loss = self.loss(batch)
        # not prog_bar: Lightning turns progress-bar values into floats every step, a host sync
        # that keeps the host from queueing the next step (our bar reads the loss at log_every)
        self.log("train/loss", loss, batch_size=batch["latents"].shape[0])
        return loss

    # ---------------------------------------------------------------- distribution matching
    def start_matching(self) -> None:
        """flow.dmd: the real score R (frozen) and the fake score F (trained on the world model's
        own windows), both copies of the weights the world model starts from; with
        flow.dmd_gan_weight, the realism critic's head on F's features."""
        self.real = copy.deepcopy(self.model).requires_grad_(False)
        self.fake = copy.deepcopy(self.model)
        if self.flow.dmd_gan_weight:
            self.critic = RealismHead(self.model_cfg.dim)

    def matching_step(self, batch: dict[str, Any]) -> torch.Tensor:
        """One step of flow.dmd. Every row's context is the bank's rollout (the world model's
        own frames); the world model makes the next frame, with gradients through one random
        step of its sampler, and learns from DMD's gradient on it (`dmd_loss`) every
        flow.dmd_fake_steps steps; F learns the made windows by the flow loss every step. No loss
        pairs a rolled context with the episode's next frame; flow.dmd_flow_weight > 0 adds the
        world model's flow loss on the batch's true windows (DMD's regression term, in flow
        form), which keeps its one-step accuracy anchored to the data. flow.dmd_gan_weight > 0
        adds DMD2's GAN term: a critic on F's features learns true frames from made ones every
        step, and the world model learns to fool it (`realism_logits`)."""
        true = batch
        batch = self.with_rollouts(batch, 1.0)
        context = batch["latents"][:, :-1]  # (B, T-1, C, H, W): the bank's rollouts
        actions, text = self._actions(batch), batch.get("text")
        b = context.shape[0]
        # each row's conditioning dropout, shared by G, F and R: G learns its null-action and
        # null-prompt frames too (what guidance and prompt control sample), each matched to R's
        dropped = self.dropout(b, self.generator)
        train_generator = self.global_step % self.flow.dmd_fake_steps == 0
        with torch.set_grad_enabled(train_generator):
            frame = self.next_frame(context, actions, text, dropped)  # (B, 1, C, H, W)
        window = torch.cat([context, frame.detach()], 1)  # (B, T, C, H, W)
        made = {"latents": window, "actions": batch["actions"], "text": text}
        fake_loss = self.loss(made, dit=self.fake, dropped=dropped)
        self.log("train/fake_loss", fake_loss, batch_size=b)
        gan = self.flow.dmd_gan_weight
        if gan:  # the critic, beside F's flow loss: the episodes' true frames against made ones
            shown = torch.cat([true["latents"][:, -1:], frame.detach()])  # (2B, 1, C, H, W)
            true_logits, made_logits = self.realism_logits(shown).chunk(2)  # (B,) each
            critic = critic_loss(true_logits, made_logits)
            self.log("train/critic_loss", critic, batch_size=b)
            fake_loss = fake_loss + self.flow.dmd_critic_weight * critic
        if not train_generator:
            return fake_loss
        real, fake = self.matching_estimates(window, actions, text, dropped)  # (B, 1, C, H, W)
        loss = dmd_loss(frame.float(), real.float(), fake.float())
        self.log("train/loss", loss, batch_size=b)
        if gan:
            loss = loss + gan * self.fooling_surrogate(frame)
        if self.flow.dmd_flow_weight:
            flow = self.loss(true)
            self.log("train/flow_loss", flow, batch_size=b)
            loss = loss + self.flow.dmd_flow_weight * flow
        self.log("train/real_fake_gap", (real - fake).abs().float().mean(), batch_size=b)
        return loss + fake_loss  # separate graphs: each network gets its own loss's gradient

    def next_frame(self, context: torch.Tensor, actions, text, dropped=None) -> torch.Tensor:
        """The world model's frame (B, 1, C, H, W) after `context` (B, Tc, C, H, W) under its
        sampling (context level, guidance, sampler), the rows' conditioning dropped where
        `dropped` (actions, text) says: the clean estimate at one step drawn at random from the
        run's generator, the steps before it without gradients."""
        sampler = make_sampler(self.sample_cfg.sampler)
        k = self.sample_cfg.context_level
        noise = torch.randn_like(context[:, :1])  # (B, 1, C, H, W)
        shown = (1 - k) * context + k * torch.randn_like(context) if k else context
        seq = torch.cat([shown, noise], 1)  # (B, Tc+1, C, H, W)
        generate = torch.zeros(seq.shape[:2], dtype=torch.bool, device=seq.device)
        generate[:, -1] = True
        guidance = self.sample_cfg.guidance
        velocity = guided_velocity(self.model, actions, text, guidance, dropped=dropped)
        if k:
            velocity = at_context_level(velocity, generate, k)
        draws = sampler.fresh_draws
        fresh = torch.randn(draws, *seq.shape, device=seq.device) if draws else None
        step = int(torch.randint(sampler.steps, (1,), generator=self.generator))
        return exit_estimate(sampler, velocity, seq, generate, step, fresh)[:, -1:]

    def realism_logits(self, frames: torch.Tensor) -> torch.Tensor:
        """The critic's logits (N,) for single frames (N, 1, C, H, W), each noised to a level of
        its own (flow.dmd_level_low..high) and read by F with no actions or prompt: a frame judged
        by itself, since the world model cannot change a context the critic could tell apart."""
        n = frames.shape[0]
        tau = matching_levels(n, self.flow.dmd_level_low, self.flow.dmd_level_high, self.generator)
        (levels,) = self._upload(tau[:, None])  # (N, 1)
        x = noisy(frames, torch.randn_like(frames), levels)
        return self.critic(self.fake.features(x, levels))

    def fooling_surrogate(self, frame: torch.Tensor) -> torch.Tensor:
        """A loss whose gradient on the made frames (B, 1, C, H, W) is that of `fooling_loss`,
        and on nothing else: the critic and F read them, but only the world model learns from
        fooling them (their own gradients would teach the critic to be fooled)."""
        fooled = fooling_loss(self.realism_logits(frame))
        self.log("train/gan_loss", fooled, batch_size=frame.shape[0])
        (grad,) = torch.autograd.grad(fooled, frame)
        return (frame * grad.detach()).sum()

    @torch.no_grad()
    def matching_estimates(self, window: torch.Tensor, actions, text, dropped):
        """R's and F's clean estimates of the last frame of `window` (B, T, C, H, W), the whole
        window noised to one level per row (flow.dmd_level_low..high) and its conditioning
        dropped as `dropped` (actions, text) says: scores of whole windows, so a frame is judged
        with what came before it."""
        b, t = window.shape[:2]
        tau = matching_levels(b, self.flow.dmd_level_low, self.flow.dmd_level_high, self.generator)
        (tau,) = self._upload(tau)
        levels = tau[:, None].expand(b, t)  # (B, T)
        x = noisy(window, torch.randn_like(window), levels)
        cond = dict(actions=actions, text=text, drop_actions=dropped[0], drop_text=dropped[1])
        return tuple(
            clean_estimate(x, dit(x, levels, **cond), levels)[:, -1:]
            for dit in (self.real, self.fake)
        )

    @torch.no_grad()
    def next_frame_error(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Latent MSE of the last frame sampled from the others (`next_frame_mse`), of copying the
        frame before it (`copy_last_mse`) and, for a model with actions and two or more windows,
        of the last frame sampled with the next window's actions and the same noise
        (`shuffled_actions_mse`): equal to next_frame_mse while the model ignores its actions,
        above it once it reads them (a run on the copy-last plateau shows here)."""
        x0 = batch["latents"]  # (B, T, C, H, W)
        actions = self._actions(batch)

        def sampled_error(given: torch.Tensor | None) -> torch.Tensor:
            runner = self.mode_runner(batch.get("caption"), seed=1)
            seq = runner.extend_forward(x0[:, :-1], 1, given, self._clock(batch))
            return (seq[:, -1] - x0[:, -1]).pow(2).mean()

        errors = {
            "next_frame_mse": sampled_error(actions),
            "copy_last_mse": (x0[:, -2] - x0[:, -1]).pow(2).mean(),
        }
        if actions is not None and len(x0) > 1:
            errors["shuffled_actions_mse"] = sampled_error(actions.roll(1, dims=0))
        return errors

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        b = batch["latents"].shape[0]
        loss = self.loss(batch, torch.Generator().manual_seed(batch_idx))
        self.log("val/loss", loss, prog_bar=True, batch_size=b, sync_dist=True)
        if batch_idx == 0 and batch["latents"].shape[1] > 1:
            for name, error in self.next_frame_error(batch).items():
                self.log(f"val/{name}", error, batch_size=b, sync_dist=True)

    def configure_gradient_clipping(
        self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None
    ) -> None:
        """Under FSDP each rank holds a shard of the gradients, so the sharded model computes the
        global norm and clips (Lightning's FSDP precision plugin refuses 'norm' clipping)."""
        from lightning.pytorch.strategies import FSDPStrategy

        if gradient_clip_val and isinstance(self.trainer.strategy, FSDPStrategy):
            self.trainer.model.clip_grad_norm_(gradient_clip_val)
            return
        if gradient_clip_val and self.flow.dmd:  # two networks, two losses: each its own norm
            for net in (self.model, self.fake, self.critic):
                if net is not None:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), gradient_clip_val)
            return
        super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def optimizer(self) -> torch.optim.AdamW:
        """AdamW over the DiT (and flow.dmd's fake score and critic), weight decay on matrices
        only (no trainer needed: benchmarks time bare steps with it)."""
        trained = [self.model] + ([self.fake] if self.flow.dmd else [])
        trained += [self.critic] if self.critic is not None else []
        params = [p for dit in trained for p in dit.parameters()]
        decay = [p for p in params if p.dim() >= 2]
        other = [p for p in params if p.dim() < 2]
        opt = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.optim_cfg.weight_decay},
                {"params": other, "weight_decay": 0.0},
            ],
            lr=self.optim_cfg.lr,
            betas=self.optim_cfg.betas,
            fused=all(p.is_cuda for p in decay + other) or None,  # one CUDA kernel (None: foreach)
        )
        # fused AdamW says it unscales gradients itself, so Lightning would refuse gradient
        # clipping; no loss scaler runs in bf16, and under one (16-mixed) this flag off makes the
        # scaler unscale first, which is right for any optimiser
        opt._step_supports_amp_scaling = False
        return opt

    def configure_optimizers(self):
        opt, cfg = self.optimizer(), self.optim_cfg
        factor = partial(
            lr_factor,
            warmup_steps=cfg.warmup_steps,
            decay_steps=cfg.decay_steps,
            max_steps=self.trainer.max_steps,
        )
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # ---------------------------------------------------------------- sampling
    def mode_runner(
        self,
        captions: list[str] | None,
        seed: int | list[int] = 0,
        sample: SampleConfig | None = None,
        negatives: list[str] | None = None,
        negative_scale: float = 1.0,
    ) -> ModeRunner:
        """A mode runner for this model with the given prompts (`seed`: see `ModeRunner`), and
        one negative prompt each, which the text guidance starts from instead of the empty one
        (`negative_scale`: the weight of what they say; see `guided_velocity`)."""
        sample = sample or self.sample_cfg
        # prompts and negatives encoded in one call: one token length for both
        text = self.encode_text(captions if negatives is None else [*captions, *negatives])
        negative = None
        if negatives is not None and text is not None:
            rows = slice(0, len(captions)), slice(len(captions), None)
            text, negative = (text.rows(part) for part in rows)
        return ModeRunner(
            self.model,
            make_sampler(sample.sampler),
            sample.guidance,
            text,
            seed,
            context_level=sample.context_level,
            negative=negative,
            negative_scale=negative_scale,
        )

    def _stats(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        info = self.latent_info
        mean = torch.tensor(info.mean, device=z.device, dtype=z.dtype)[:, None, None]
        return mean, torch.tensor(info.std, device=z.device, dtype=z.dtype)[:, None, None]

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        """Autoencoder latents (B, T, C, H, W) -> the DiT's unit-scale latents."""
        mean, std = self._stats(z)
        return (z - mean) / std

    def denormalise(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised latents (B, T, C, H, W) -> the autoencoder's latent scale."""
        mean, std = self._stats(z)
        return z * std + mean

    def autoencoder(self):
        """The VAE that made the latents (loaded on first use), or None without its checkpoint."""
        if self._autoencoder is None and self.latent_info.autoencoder:
            from worldsim.models.autoencoder import load_autoencoder

            try:
                object.__setattr__(
                    self,
                    "_autoencoder",
                    load_autoencoder(self.latent_info.autoencoder, self.device),
                )
            except FileNotFoundError as err:
                warnings.warn(f"cannot decode samples: {err}", stacklevel=2)
                self.latent_info.autoencoder = ""
        if (
            self._autoencoder is not None
            and next(self._autoencoder.parameters()).device != self.device
        ):
            self._autoencoder.to(
                self.device
            )  # not a submodule, so it does not follow .to() of the module
        return self._autoencoder

    def use_autoencoder(self, path: str) -> None:
        """Decode with the VAE at `path` (sample's and eval's autoencoder=). A model that carries
        its VAE (bundled in the file) knows the encoder its latents came from, so `path` must be
        a decoder fine-tune of it (`replace_decoder` checks); one that only records its VAE's
        path reads `path` instead (the file moved, or another machine's copy)."""
        if self._autoencoder is not None:
            self.replace_decoder(path)
        else:
            self.latent_info.autoencoder = path

    def replace_decoder(self, path: str) -> None:
        """Decode with the VAE at `path` from now on: a decoder trained for this model's latents
        (train-vae decoder_only=true), refused when its encoder is not the one that made them."""
        from worldsim.models.autoencoder import load_autoencoder, same_encoder

        mine, theirs = self.autoencoder(), load_autoencoder(path, self.device)
        if mine is None:
            raise CheckpointError(
                f"autoencoder={path}: this model's own VAE is absent, so the encoder that made "
                "its latents cannot be checked; put the model's VAE back beside it"
            )
        if not same_encoder(mine, theirs):
            raise CheckpointError(
                f"autoencoder={path} encodes differently from the VAE this model's latents came "
                "from: train its decoder alone from the model's (worldsim train-vae "
                "decoder_only=true init=<this model>)"
            )
        object.__setattr__(self, "_autoencoder", theirs)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised latents (B, T', C, h, w) -> pixels (B, T, 3, H, W) in [-1, 1]."""
        return decode_latents(self.autoencoder(), self.denormalise(z))

    @torch.no_grad()
    def sample_videos(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        """Ground truth beside an autoregressive rollout from its first latent frame, as uint8."""
        from worldsim.video import frame_grid, to_uint8

        if self.autoencoder() is None:
            return {}
        x0 = batch["latents"][:1]
        runner = self.mode_runner(batch.get("caption", [""])[:1])
        actions, clock = (first_rows(c, 1) for c in (self._actions(batch), self._clock(batch)))
        seq = runner.rollout(
            x0[:, :1],
            x0.shape[1] - 1,
            actions,
            self.sample_cfg.window,
            self.sample_cfg.chunk,
            clock,
        )
        truth, fake = (
            self.decode(x0)[0].float().cpu().numpy(),
            self.decode(seq)[0].float().cpu().numpy(),
        )
        return {"rollout": frame_grid([to_uint8(truth), to_uint8(fake)], columns=2)}


def export_checkpoint(
    module: WorldModel,
    path: str,
    dtype: torch.dtype = torch.float16,
    state_dict: dict[str, torch.Tensor] | None = None,
    max_part_mb: float = 0.0,
    bundle_autoencoder: bool = False,
) -> str:
    """Write a slim checkpoint (hyper-parameters + weights in `dtype`) for `load_world_model`.

    `state_dict`: the module's full state dict where a distributed strategy gathered it (keys
    `model.*`); by default the module's own. `max_part_mb` > 0: a larger file is written as
    `<path>.part0`, `.part1`, ... instead (for transfers with a size limit per file);
    `load_world_model(path)` joins them. `bundle_autoencoder`: the VAE's weights (in `dtype`)
    go into the file too, which then loads with nothing beside it (shipped checkpoints). The
    text table of the training captions is always included when the module has one."""
    from pathlib import Path

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = module.state_dict() if state_dict is None else state_dict
    state = {
        k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype)
        for k, v in weights.items()
        if k.startswith("model.")
    }
    tmp = out.with_name(f".tmp-{out.name}")
    ckpt = {"hyper_parameters": module.hyper_parameters(), "state_dict": state}
    if module.run_steps is not None:
        ckpt["run_steps"] = module.run_steps
    if module.text_table is not None:
        ckpt["text_table"] = module.text_table.checkpoint_state()
    if bundle_autoencoder:
        vae = module.autoencoder()
        if vae is None:
            raise FileNotFoundError(
                "bundle_autoencoder: the latents' autoencoder checkpoint is absent"
            )
        ckpt["autoencoder"] = {
            "autoencoder_config": dataclasses.asdict(vae.cfg),
            "state_dict": {k: v.detach().to("cpu", dtype) for k, v in vae.state_dict().items()},
        }
    with open(tmp, "wb") as fh:  # a file object: torch names its archive after a path's
        torch.save(ckpt, fh)  # stem, and `.tmp-NAME` has none when NAME has no suffix
    for stale in _parts(out):
        stale.unlink()
    part_bytes = int(max_part_mb * 2**20)
    if part_bytes <= 0 or tmp.stat().st_size <= part_bytes:
        tmp.replace(out)
        return str(out)
    data = tmp.read_bytes()
    for i, start in enumerate(range(0, len(data), part_bytes)):
        out.with_name(f"{out.name}.part{i}").write_bytes(data[start : start + part_bytes])
    tmp.unlink()
    out.unlink(missing_ok=True)
    return str(out)


def _parts(path) -> list:
    """The `<path>.part0`, `.part1`, ... files of a split checkpoint, in order (empty if none)."""
    parts = []
    while (part := path.with_name(f"{path.name}.part{len(parts)}")).is_file():
        parts.append(part)
    return parts


def load_world_model(path: str, device: str | torch.device = "cpu") -> WorldModel:
    """A WorldModel in eval mode from a `worldsim train` checkpoint (EMA weights) or a slim export
    (one file, or the `<path>.part*` files of a split one)."""
    import io
    from pathlib import Path

    from worldsim.models.pretrained import require_world_model, resolve_checkpoint

    require_world_model(path)
    path = resolve_checkpoint(path)
    parts = _parts(Path(path))
    source = path if Path(path).is_file() else io.BytesIO(b"".join(p.read_bytes() for p in parts))
    how = "pass a .ckpt written by `worldsim train` (e.g. runs/world_model/ema.ckpt)"
    ckpt = read_checkpoint(source, path, "world-model", how, ("hyper_parameters",))
    if "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a world-model checkpoint (no state_dict); {how}")
    try:
        module = WorldModel(**ckpt["hyper_parameters"])
    except ConfigError as err:  # a field this version lacks: another version wrote the file
        raise CheckpointError(
            f"{path} was written by another version of worldsim ({err}); load it with that "
            "version, or export it there again"
        ) from err
    state = {
        k[len("model.") :]: v.float()
        for k, v in ckpt["state_dict"].items()
        if k.startswith("model.")
    }
    module.model.load_state_dict(state)
    # a Lightning checkpoint counts its run's steps itself; an export carries them on
    module.run_steps = ckpt.get("run_steps", ckpt.get("global_step"))
    if "text_table" in ckpt:
        module.set_text_table(TextTable.from_state(ckpt["text_table"]))
    if "autoencoder" in ckpt:
        from worldsim.models.autoencoder import autoencoder_from_state

        bundled = ckpt["autoencoder"]
        vae = autoencoder_from_state(bundled["autoencoder_config"], bundled["state_dict"])
        object.__setattr__(module, "_autoencoder", vae.to(device))
    return module.to(device).eval()
