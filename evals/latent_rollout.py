"""A latent world model on recorded episodes, in its own latent space: the episode is encoded once
(VAE posterior means, as the training caches hold them), then the model samples latent frames
either one step ahead of true latents (teacher-forced) or from its own samples (autoregressive).

Pixel frames of latent frame k >= 1 are [1 + tf (k - 1), 1 + tf k): the VAE's first latent frame
holds frame 0 alone. Every score decodes the whole sampled window, as `DiTPredictor` does.
Episodes are encoded from their reset (env step 0), so latent frame k ends at env step tf k: the
clock a model told it (`model.clock_period`) reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from envs.base import Captions
from evals.model import from_model_frames, to_model_frames
from worldsim.data.latent_datamodule import pixel_span
from worldsim.diffusion.flow import clean_estimate_error
from worldsim.metrics import psnr
from worldsim.models.latents import encode_episode

CHANGED_BELOW_DB = 35.0  # a window "changes" when copying its last context frame scores below this


@dataclass
class LatentEpisode:
    """One recorded episode with its normalised latents and per-latent-frame actions."""

    frames: torch.Tensor  # (T, C, H, W) in [-1, 1], T = 1 + tf (T' - 1)
    latents: torch.Tensor  # (T', c, h, w) normalised
    # (T', A') per latent frame, (T', 2 A') for a model told the actions' ages (they follow the
    # actions); None for a model without actions
    actions: torch.Tensor | None
    captions: Captions | None  # the episode's window captions (None: no text, prompt "")

    def caption(self, start: int, length: int, time_factor: int) -> str:
        """The caption training gave latent frames [start, start + length)."""
        if self.captions is None:
            return ""
        return self.captions.for_window(*pixel_span(start, length, time_factor))


@torch.no_grad()
def encode_frames(module, frames, length: int) -> torch.Tensor:
    """The first `length` (1 + tf k) of pixel frames (T, H, W, 3) uint8 -> `module`'s normalised
    latents (T', c, h, w) on its device, encoded by its VAE chunk by chunk."""
    vae = module.autoencoder()
    z = torch.from_numpy(
        encode_episode(vae, frames, length, vae.cfg.encode_chunk, str(module.device))
    )
    return module.normalise(z.to(module.device))


@torch.no_grad()
def encode_latent_episode(module, episode, text: bool = True) -> LatentEpisode:
    """`Episode` -> LatentEpisode (its first 1 + tf k frames) with `module`'s VAE and actions."""
    tf = module.latent_info.time_factor
    used = 1 + (episode.length - 1) // tf * tf
    latents = encode_frames(module, episode.frames, used)  # (T', c, h, w)
    raw = torch.from_numpy(np.array(episode.actions[:used], np.float32))[None]  # (1, T, A)
    acts = module.latent_actions(raw, latents.shape[0])  # from the reset: the ages know it all
    acts = None if acts is None else acts[0]
    captions = Captions(**episode.captions) if text and episode.captions else None
    frames = to_model_frames(np.array(episode.frames[:used])[None])[0]
    return LatentEpisode(frames, latents, acts, captions)


def reads_scene_only(module) -> bool:
    """Whether `module` reads only some sentences of its captions (`text.keep`, e.g. a Doom
    caption's scene sentence): text known before a rollout, so evaluations pass the true captions.
    A model that reads whole captions gets none: they describe the future it is asked for."""
    return bool(module.model_cfg.text_dim and module.text_cfg.keep)


def new_frames(k: int, time_factor: int) -> slice:
    """Pixel frames of latent frame k >= 1."""
    return slice(1 + time_factor * (k - 1), 1 + time_factor * k)


def window_frames(episodes, windows, length: int, time_factor: int) -> torch.Tensor:
    """The true pixel frames each (episode index, k) window of `length` latent frames is scored
    on: (N, 1 + tf, C, H, W), its last context frame, then the new frames of its last latent."""
    last = [new_frames(k + length - 1, time_factor).start - 1 for _, k in windows]
    return torch.stack(
        [episodes[e].frames[s : s + time_factor + 1] for (e, _), s in zip(windows, last)]
    )


@torch.no_grad()
def teacher_forced(
    module, episodes, windows, length: int, batch=32, seed=0, shuffle=False, keep=False
) -> dict:
    """Sample latent frame k + length - 1 from the true latents [k, k + length - 1) for each
    (episode index, k) in `windows` (`length`: the windows', no default, so that a file sampling
    at another window is never scored at 8 unasked); PSNR (mean over its tf new pixel frames) of
    the model, copy-last (the last true context frame repeated), copy-last after the VAE and the
    VAE itself.

    `shuffle`: the actions of each window come from another window (a seeded derangement).
    Returns per-window arrays, and `changed` (copy-last PSNR < CHANGED_BELOW_DB); `keep`: also
    the model's new frames, "frames" (N, tf, C, H, W) in [-1, 1], and the true latents' decoded,
    "vae_frames" (the same shape: the autoencoder's ceiling for the model's).
    """
    tf = module.latent_info.time_factor
    order = np.arange(len(windows))
    if shuffle:
        perm = np.random.default_rng(seed).permutation(len(windows))
        order[perm] = np.roll(perm, 1)  # no window keeps its own actions
    scores = {key: [] for key in ("model", "copy_last", "copy_last_vae", "vae")}
    kept: dict[str, list] = {"frames": [], "vae_frames": []}
    for i in range(0, len(windows), batch):
        idx = range(i, min(i + batch, len(windows)))
        z = torch.stack([episodes[e].latents[k : k + length] for e, k in (windows[j] for j in idx)])
        acts = None
        if module.model_cfg.action_dim:
            acts = torch.stack(
                [episodes[e].actions[k : k + length] for e, k in (windows[order[j]] for j in idx)]
            )
        prompts = [episodes[e].caption(k, length, tf) for e, k in (windows[j] for j in idx)]
        clock = module.clock([tf * windows[j][1] for j in idx], length)  # (B, length) or None
        runner = module.mode_runner(prompts, seed + i)
        sampled = runner.extend_forward(z[:, :-1], 1, acts, clock)
        model, vae = (module.decode(v)[:, -tf - 1 :].cpu() for v in (sampled, z))
        truth = window_frames(episodes, [windows[j] for j in idx], length, tf)  # (B, 1 + tf, ...)
        target = truth[:, 1:]

        preds = {
            "model": model[:, 1:],
            "vae": vae[:, 1:],
            "copy_last": truth[:, :1].expand_as(target),
            "copy_last_vae": vae[:, :1].expand_as(target),
        }
        for key, pred in preds.items():
            scores[key].append(psnr(pred, target).mean(-1))  # (B,): mean over the new frames
        if keep:
            kept["frames"].append(model[:, 1:])
            kept["vae_frames"].append(vae[:, 1:])
    out = {k: torch.cat(v).numpy() for k, v in scores.items()}
    out["changed"] = out["copy_last"] < CHANGED_BELOW_DB
    if keep:
        out.update({k: torch.cat(v) for k, v in kept.items()})  # (N, tf, C, H, W) each
    return out


def idm_reads(idm, episodes, windows, generated, length: int, action_dim: int) -> dict:
    """How often `idm` reads each window's new actions (those of its last latent frame) right,
    off the true frames and off the model's `generated` ones ((N, tf, C, H, W), as
    `teacher_forced(keep=True)` returns them, after the same true last context frame).
    `action_dim`: the model's A', the actions' width before any ages (model.action_ages)."""
    tf = generated.shape[1]
    right = {"true": [], "generated": []}
    for (e, k), frames in zip(windows, generated):
        ep, new = episodes[e], new_frames(k + length - 1, tf)
        # (tf, A): the action before each new frame; the ages after them are not read
        acts = ep.actions[k + length - 1, :action_dim].reshape(tf, -1).cpu().numpy()
        last = ep.frames[new.start - 1 : new.start]  # (1, C, H, W): the last context frame
        videos = {  # (1 + tf, C, H, W) each
            "true": ep.frames[new.start - 1 : new.stop],
            "generated": torch.cat([last, frames]),
        }
        for key, video in videos.items():
            read = idm.read_actions(from_model_frames(video[None])[0])  # (tf, A)
            right[key].append(read.argmax(-1) == acts[:, : read.shape[1]].argmax(-1))
    acc = {key: float(np.concatenate(v).mean()) for key, v in right.items()}
    return {**acc, "ratio": acc["generated"] / max(acc["true"], 1e-9), "actions": tf * len(windows)}


def changed_window_summary(true: dict, shuffled: dict) -> dict:
    """Means over the changed windows of two `teacher_forced` results (true, shuffled actions)."""
    c = true["changed"]
    model = true["model"][c]
    return {
        "windows": len(c),
        "changed": int(c.sum()),
        **{k: float(v[c].mean()) for k, v in true.items() if k != "changed"},
        "model_all_windows": float(true["model"].mean()),
        "beats_copy_last_pct": float(100 * (model > true["copy_last"][c]).mean()),
        # the ceiling of that share: a latent model wins a window only where its VAE's own
        # reconstruction of the truth does (RESULTS section 18: 74.7% for the Crafter VAE)
        "vae_beats_copy_last_pct": float(100 * (true["vae"][c] > true["copy_last"][c]).mean()),
        # both through the VAE: the model against the decoded last context frame
        "beats_copy_last_vae_pct": float(100 * (model > true["copy_last_vae"][c]).mean()),
        "shuffled_actions": float(shuffled["model"][c].mean()),
        "delta_true_minus_shuffled": float((model - shuffled["model"][c]).mean()),
    }


def rollout_window(module, window: int | None = None) -> int:
    """The window `rollout` of `module` sees: `window`, else its sampling's. ValueError for a
    sampling it cannot honour (else an override would be recorded and not used): a chunk other
    than 1 (it makes one latent frame a step) or a window under 2."""
    window = window or module.sample_cfg.window
    if module.sample_cfg.chunk != 1:
        raise ValueError(
            f"these rollouts make one latent frame a step; sampling chunk "
            f"{module.sample_cfg.chunk} is for `worldsim sample` (set chunk=1)"
        )
    if window < 2:
        raise ValueError(
            f"rollout window {window} must be at least 2 (a context frame and a new one)"
        )
    return window


@torch.no_grad()
def rollout(
    module,
    latents,
    actions,
    prompts,
    new,
    window: int | None = None,
    seed: int | list[int] = 0,
    *,
    first_step: int,
) -> torch.Tensor:
    """Autoregressive: `new` latent frames after `latents` (B, Tc, c, h, w), one at a time, each
    seeing at most `window - 1` frames before it (`window`: the module's sampling window unless
    given). `first_step`: the env step of latents[:, 0] (0 at an episode's reset), from which a
    model told the clock counts. actions (B, Tc + new, A') or None; prompts:
    one list of B captions for every step, or one list for all. `seed`: one noise stream for the
    batch, or a list of G seeds, one per consecutive group of B / G rows, each group drawing the
    noise it draws rolled out alone (several noise seeds of one truth in one batch: one GPU pass
    instead of G). Returns (B, Tc + new, c, h, w)."""
    per_step = prompts if prompts and isinstance(prompts[0], list) else [prompts] * new
    seeds = [seed] if isinstance(seed, int) else list(seed)
    window = rollout_window(module, window)
    clock = module.clock([first_step] * latents.shape[0], latents.shape[1] + new)  # (B, Tc + new)
    seq = latents
    for step in range(new):
        start = max(0, seq.shape[1] - (window - 1))
        span = slice(start, seq.shape[1] + 1)
        acts, clk = (None if c is None else c[:, span] for c in (actions, clock))
        runner = module.mode_runner(per_step[step], [s + step for s in seeds])
        out = runner.extend_forward(seq[:, start:], 1, acts, clk)
        seq = torch.cat([seq, out[:, -1:]], dim=1)
    return seq


@torch.no_grad()
def horizon_psnr(module, episodes, context: int, horizon: int, seed: int = 0):
    """Roll `horizon` latent frames out of each episode's first `context` true ones (true actions,
    each step with the caption of its window, as in training); PSNR per new pixel frame of the
    model and of copy-last, averaged over episodes. Returns (scores, video, truth), both videos
    (B, tf horizon, C, H, W)."""
    tf = module.latent_info.time_factor
    z = torch.stack([e.latents[: context + horizon] for e in episodes])
    acts = None
    if module.model_cfg.action_dim:
        acts = torch.stack([e.actions[: context + horizon] for e in episodes])
    steps = [[e.caption(j, context + 1, tf) for e in episodes] for j in range(horizon)]
    seq = rollout(
        module, z[:, :context], acts, steps, horizon, window=context + 1, seed=seed, first_step=0
    )
    video = module.decode(seq).cpu()[:, -tf * horizon :]
    start = new_frames(context, tf).start
    truth = torch.stack([e.frames[start : start + tf * horizon] for e in episodes])
    last = torch.stack([e.frames[start - 1] for e in episodes])[:, None].expand_as(truth)
    curves = {"model": psnr(video, truth), "copy_last": psnr(last, truth)}
    scores = {"episodes": len(episodes), **{k: v.mean(0).tolist() for k, v in curves.items()}}
    return scores, video, truth


@torch.no_grad()
def mean_prediction_error(
    module, windows, level: float, actions: str = "true", seed: int = 0, text: str = "true"
):
    """Latent MSE of the model's one-step estimate of the last frame of each window (B, T, c, h, w)
    from the others (clean), the last at noise `level` (1 = pure noise: the posterior mean).

    `windows` is (latents, actions (B, T, A'), captions, the env step of each window's first
    latent frame); `actions` and `text` are each "true",
    "shuffled" or "null". Shuffled actions are the previous window's; a shuffled caption is that
    of the window half a batch away (neighbouring windows overlap and share their heading). The
    estimate is x_t - t v: no sampling noise, so it measures what the model knows rather than how
    it samples."""
    x0, acts, captions, first_steps = windows
    noise = torch.zeros_like(x0)  # (B, T, c, h, w): the context stays clean
    noise[:, -1] = torch.randn(x0[:, -1].shape, generator=torch.Generator().manual_seed(seed))
    levels = torch.zeros(x0.shape[:2], device=x0.device)  # (B, T)
    levels[:, -1] = level
    given = {"true": acts, "shuffled": torch.roll(acts, 1, 0), "null": None}[actions]
    half = len(captions) // 2
    said = {
        "true": captions,
        "shuffled": captions[half:] + captions[:half],
        "null": [""] * len(captions),
    }
    text_batch = module.encode_text(said[text])
    clock = module.clock(first_steps, x0.shape[1])
    err = clean_estimate_error(module.model, x0, noise, levels, given, text_batch, clock)
    return err.mean().item()
