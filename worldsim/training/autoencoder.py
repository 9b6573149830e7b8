"""LightningModule training the causal video VAE: L1 + LPIPS + KL, optional adversarial loss.

Pure pieces (losses, metrics, the held-out evaluation) are plain functions; `VAETask` wires them.
Optimisation is manual because the adversarial loss alternates two optimisers.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from worldsim.data.episode import Episode
from worldsim.data.pixels import pixels_to_unit, quantise
from worldsim.data.store import EpisodeStore
from worldsim.metrics import masked_psnr, psnr, ssim
from worldsim.models.autoencoder import AutoencoderConfig, VideoAutoencoder
from worldsim.training.autoencoder_config import PERCEPTUAL, LossConfig, OptimConfig
from worldsim.training.lr_schedule import lr_factor
from worldsim.video import to_uint8

# ---------------------------------------------------------------------------- pure functions


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the discriminator."""
    return 0.5 * (F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean())


def frames_of(video: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B*T, C, H, W)."""
    return rearrange(video, "b c t h w -> (b t) c h w")


def object_weights(instance: torch.Tensor, weight: float) -> torch.Tensor:
    """Per-pixel loss weights (B, 1, T, H, W) of instance maps (B, T, H, W): 1 + `weight` on the
    pixels a map marks as an object (id >= 0), 1 on the background (-1)."""
    return 1 + weight * rearrange(instance >= 0, "b t h w -> b 1 t h w").float()


class PatchDiscriminator(nn.Module):
    """Per-frame PatchGAN (pix2pix) judging 2D patches; frames are independent samples."""

    def __init__(self, channels: int = 3, width: int = 64, layers: int = 3):
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = width
        for _ in range(layers - 1):
            mods += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.GroupNorm(8, ch * 2), nn.LeakyReLU(0.2)]
            ch *= 2
        mods.append(nn.Conv2d(ch, 1, 3, 1, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames)  # (N, 1, h, w) logits


def _episode_scores(
    model: VideoAutoencoder, episode: Episode, max_frames: int, device: str | torch.device
) -> dict:
    """PSNR/SSIM of one episode encoded and decoded in chunks (posterior mean), its frames
    trimmed to 1 + 4k; with truth "instance", the PSNR of the pixels its objects cover."""
    frames = episode.frames
    t = len(frames) if not max_frames else min(len(frames), max_frames)
    t = 1 + (t - 1) // model.time_factor * model.time_factor
    x = pixels_to_unit(torch.from_numpy(np.array(frames[:t])).to(device))
    x = rearrange(x, "t h w c -> 1 c t h w")  # (1, C, T, H, W)
    # Quantise like a viewer would see it, so PSNR is that of the uint8 video.
    recon = quantise(model.decode(model.encode(x)).clamp(-1, 1))
    a, b = frames_of(x), frames_of(recon)
    scores = {"frames": t, "psnr": psnr(a, b).mean().item(), "ssim": ssim(a, b).mean().item()}
    if "instance" in episode.truth:
        objects = torch.from_numpy(np.array(episode.truth["instance"][:t]) >= 0).to(device)
        if objects.any():  # no object in view: nothing to measure, so no number
            mask = rearrange(objects, "t h w -> t 1 h w")  # (T, 1, H, W)
            scores["object_psnr"] = masked_psnr(a, b, mask).item()
    return scores


@torch.no_grad()
def evaluate_reconstruction(
    model: VideoAutoencoder,
    store: EpisodeStore,
    names: list[str],
    max_frames: int = 0,
    device: str | torch.device = "cpu",
) -> dict:
    """Each episode's `_episode_scores` and their means over episodes; "object_psnr" is the mean
    over the episodes with objects (absent without any), "object_episodes" their number."""
    per_episode = [
        {"name": name, **_episode_scores(model, store.load(name), max_frames, device)}
        for name in names
    ]
    summary = {
        "episodes": len(per_episode),
        "frames": sum(e["frames"] for e in per_episode),
        "psnr": float(np.mean([e["psnr"] for e in per_episode])),
        "ssim": float(np.mean([e["ssim"] for e in per_episode])),
    }
    objects = [e["object_psnr"] for e in per_episode if "object_psnr" in e]
    if objects:
        summary.update(object_psnr=float(np.mean(objects)), object_episodes=len(objects))
    return {**summary, "per_episode": per_episode}


# ---------------------------------------------------------------------------- Lightning glue


class VAETask(L.LightningModule):
    """Trains `self.model` (a VideoAutoencoder); `self.disc` exists only with a GAN loss.
    `decoder_only`: the encoder is frozen and the decoder learns from its posterior mean, the
    latents world models are trained on and generate."""

    def __init__(
        self,
        model: AutoencoderConfig,
        loss: LossConfig,
        optim: OptimConfig,
        decoder_only: bool = False,
    ):
        super().__init__()
        if loss.perceptual not in PERCEPTUAL:
            raise ValueError(
                f"loss.perceptual={loss.perceptual!r}; use one of {', '.join(PERCEPTUAL)}"
            )
        self.save_hyperparameters(
            {
                "model": asdict(model),
                "loss": asdict(loss),
                "optim": asdict(optim),
                "decoder_only": decoder_only,
            }
        )
        self.loss_cfg, self.optim_cfg, self.decoder_only = loss, optim, decoder_only
        self.model = VideoAutoencoder(model)
        self.model.encoder.requires_grad_(not decoder_only)
        self.lpips = None
        if loss.perceptual != "none":
            from worldsim.models.lpips import LPIPS, MissingWeightsError

            try:
                self.lpips = LPIPS(loss.perceptual)
            except MissingWeightsError as err:
                raise MissingWeightsError(
                    f"{err}, or train without the perceptual loss: loss.perceptual=none"
                ) from err
        self.disc = PatchDiscriminator(model.in_channels) if loss.adversarial_weight > 0 else None
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints leave out the frozen LPIPS network

    def _video(self, batch: dict) -> torch.Tensor:
        return rearrange(batch["frames"], "b t c h w -> b c t h w")  # (B, C, T, H, W)

    def _generator_steps(self) -> int:
        # global_step counts every optimiser's steps under manual optimisation;
        # the scheduler counts batches.
        scheds = self.lr_schedulers()
        return (scheds[0] if isinstance(scheds, list) else scheds).last_epoch

    def _adversarial_on(self) -> bool:
        return self.disc is not None and self._generator_steps() >= self.loss_cfg.adversarial_start

    def reconstruction_losses(
        self,
        x: torch.Tensor,
        recon: torch.Tensor,
        kl: torch.Tensor,
        weight: torch.Tensor | None = None,
    ) -> dict:
        """Weighted loss terms for a batch; 'total' is their sum. `weight` (B, 1, T, H, W), e.g.
        `object_weights`, multiplies each pixel's L1 and MSE (None: every pixel alike)."""
        cfg = self.loss_cfg
        err = recon.float() - x.float()
        abs_err, sq_err = err.abs(), err.pow(2)
        if weight is not None:
            # A plain product, not a mean renormalised by the weights' (decoder_probe.py's loss):
            # a background pixel pulls as hard as without weights however much of the batch
            # objects cover, and the terms grow by 1 + weight x that share (small objects: a
            # little). Renormalising would weaken the background in batches full of objects.
            abs_err, sq_err = weight * abs_err, weight * sq_err
        terms = {
            "l1": cfg.l1 * abs_err.mean(),
            "mse": cfg.mse * sq_err.mean(),
            "kl": cfg.kl_weight * kl.mean() / x[0].numel(),
        }
        if self.lpips is not None:
            t = x.shape[2]
            idx = torch.randperm(t, device=x.device)[: min(cfg.perceptual_frames, t)]
            terms["lpips"] = (
                cfg.perceptual_weight
                * self.lpips(frames_of(recon[:, :, idx]), frames_of(x[:, :, idx])).mean()
            )
        terms["total"] = sum(terms.values())
        return terms

    def training_step(self, batch: dict, batch_idx: int) -> None:
        if batch is None:  # every clip of the batch came from a corrupt episode
            return
        opts = self.optimizers()
        opt_g, opt_d = opts if isinstance(opts, list) else (opts, None)
        scheds = self.lr_schedulers()
        x = self._video(batch)
        recon, post = self.model(x, sample=not self.decoder_only)
        w = self.loss_cfg.object_weight
        weight = object_weights(batch["instance"], w) if w > 0 else None  # (B, 1, T, H, W)
        terms = self.reconstruction_losses(x, recon, post.kl(), weight)
        loss = terms["total"]
        if self._adversarial_on():
            self.disc.requires_grad_(False)
            terms["g_adv"] = -self.loss_cfg.adversarial_weight * self.disc(frames_of(recon)).mean()
            loss = loss + terms["g_adv"]
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self.clip_gradients(
            opt_g, gradient_clip_val=self.optim_cfg.grad_clip, gradient_clip_algorithm="norm"
        )
        opt_g.step()
        if self._adversarial_on():
            self.disc.requires_grad_(True)
            d_loss = hinge_d_loss(self.disc(frames_of(x)), self.disc(frames_of(recon.detach())))
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            opt_d.step()
            scheds[1].step()
            terms["d_loss"] = d_loss
        (scheds[0] if isinstance(scheds, list) else scheds).step()
        # none on the progress bar: Lightning reads its values every step (a host sync)
        self.log_dict({f"train/{k}": v.detach() for k, v in terms.items()})
        self.log("train/loss", loss.detach())

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if batch is None:
            return
        x = self._video(batch)
        recon = self.model.decode(self.model.encode(x)).clamp(-1, 1)
        a, b = frames_of(x), frames_of(recon)
        self.log_dict(
            {
                "val/psnr": psnr(a, b).mean(),
                "val/ssim": ssim(a, b).mean(),
                "val/l1": (a - b).abs().mean(),
            },
            prog_bar=True,
            batch_size=x.shape[0],
        )

    @torch.no_grad()
    def sample_videos(self, batch: dict) -> dict[str, np.ndarray]:
        """Input | reconstruction side by side for up to 4 validation clips."""
        x = self._video(batch)[:4]
        recon = self.model.decode(self.model.encode(x)).clamp(-1, 1)
        pair = torch.cat([x, recon], dim=-1)  # (B, C, T, H, 2W)
        return {
            f"recon_{i}": to_uint8(rearrange(v, "c t h w -> t c h w").float().cpu().numpy())
            for i, v in enumerate(pair)
        }

    def configure_optimizers(self):
        cfg = self.optim_cfg

        groups = [self.model] + ([self.disc] if self.disc is not None else [])
        opts = [
            torch.optim.AdamW(
                [p for p in m.parameters() if p.requires_grad],  # decoder_only: not the encoder
                lr=cfg.lr,
                betas=cfg.betas,
                weight_decay=cfg.weight_decay,
            )
            for m in groups
        ]
        factor = partial(lr_factor, warmup_steps=cfg.warmup_steps)
        scheds = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in opts]
        return opts, scheds

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        for key in [k for k in checkpoint["state_dict"] if k.startswith("lpips.")]:
            del checkpoint["state_dict"][key]
