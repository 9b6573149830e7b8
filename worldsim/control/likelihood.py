"""The prompt-likelihood planner: imagine the future of each candidate action sequence with the
action-conditioned world model, keep the one whose future the prompt explains best.

The world model follows actions but does not move the view from a prompt alone, so reading
actions off prompted futures (`PromptPolicy`) finds nothing to read. It does read captions: the
true caption lowers the error of its posterior-mean prediction. So each candidate's imagined
future x is scored like a diffusion classifier (a pointwise mutual information of prompt and
future): at fixed noise levels, with the same noise for every candidate and both captions, and
with null actions, the error of the model's clean estimate of x given the clean real context,
with the prompt minus with a contrast caption. Lower = the prompt explains this future better.
The contrast caption is, by default, the prompt without its event sentences ("The player achieves
collect wood."), so that only the event's words are scored: against the empty caption (the 6th
session's scorer) the prompt's heading, creature and daylight sentences, drawn by seed rather
than from the candidate, outweigh the event 2 to 7 times (prompt_control RESULTS section 5).

Futures are imagined with the empty caption: imagined with the prompt, every candidate's future
would carry the prompt's own marks (wood in the inventory without a tree hit), and the score
would measure them rather than what the actions do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from einops import rearrange, repeat

from worldsim.control.candidates import candidates
from worldsim.control.control_config import CONTRASTS, LikelihoodConfig
from worldsim.control.imagine import Imaginer
from worldsim.control.policies import Plan, plan_seed
from worldsim.control.prompts import contrast_caption
from worldsim.data.actions import pad_actions
from worldsim.data.latent_datamodule import latent_actions
from worldsim.diffusion.flow import clean_estimate_error
from worldsim.models.action_ages import action_ages
from worldsim.models.dit import TextBatch
from worldsim.models.latents import actions_per_latent_frame

SPREAD = {"best": np.min, "median": np.median, "worst": np.max}  # of a plan's candidate scores


def context_actions(executed: list[np.ndarray], noop: np.ndarray, frames: int) -> np.ndarray:
    """Codec vectors (frames, A) of the action that led to each of the episode's last `frames`
    frames, as the recorder stores an episode: frame i >= 1 follows executed action i - 1.

    The first frame of the clip gets the no-op, as frame 0 of every recorded episode does: the
    clip is encoded as an episode of its own (its first latent frame holds that frame alone), and
    the action before it has no visible effect inside the clip."""
    past = np.stack([noop, *executed[len(executed) - frames + 1 :]]) if frames > 1 else noop[None]
    return past.astype(np.float32)


def pack_actions(
    context: np.ndarray,
    plans: np.ndarray,
    action_dim: int,
    time_factor: int,
    ages: int = 0,
    history: np.ndarray | None = None,
) -> torch.Tensor:
    """Per-pixel-frame codec vectors of the context clip (Tc, A) and of each candidate's new frames
    (N, L, A) -> the model's per-latent-frame actions (N, Tc' + L / tf, action_dim), packed as
    training packs them (`latent_actions`: latent frame k >= 1 holds the actions that led to
    pixel frames 1 + tf (k - 1) .. tf k). With `ages` (model.action_ages) their ages follow
    (N, Tc' + L / tf, 2 action_dim), counted as training counts them, from the episode's reset:
    over `history` (H, A), the actions that led to each of its frames so far, the clip's last."""
    seq = np.concatenate([np.broadcast_to(context, (len(plans), *context.shape)), plans], 1)
    latent_frames = (seq.shape[1] - 1) // time_factor + 1
    acts = actions_per_latent_frame(torch.from_numpy(seq), latent_frames, action_dim, time_factor)
    if not ages:
        return acts
    whole = np.concatenate([np.broadcast_to(history, (len(plans), *history.shape)), plans], 1)
    padded = pad_actions(torch.from_numpy(whole), action_dim // time_factor)  # (N, H + L, A')
    told = action_ages(padded, ages)[:, -seq.shape[1] :]  # the clip's and the plans' frames
    return torch.cat([acts, latent_actions(told, time_factor)], dim=-1)


@torch.no_grad()
def prompt_errors(
    model,
    context: torch.Tensor,
    futures: torch.Tensor,
    texts: TextBatch | None,
    levels: list[float],
    seed: int,
    draws: int = 1,
    clock: torch.Tensor | None = None,
    cells: torch.Tensor | None = None,
) -> torch.Tensor:
    """Errors (2, N) of each future (N, H, c, h, w) after the clean `context` (1, Tc, c, h, w):
    the error of the model's clean estimate of the future with each of `texts` (the prompt,
    then the empty caption or the prompt without its event), averaged over `levels` and
    `draws` noise draws per level; actions null. Each draw's noise is shared by every candidate
    and both captions (seeded: common random numbers). `clock` (1, Tc + H): the env steps of
    the context and future latent frames (a model told the clock). `cells` (h, w): weights of
    the latent cells in the error (None: the whole frame). The planner's score is the first
    minus the second: lower = the prompt explains this future better."""
    levels = [x for x in levels for _ in range(draws)]  # each level `draws` times, new noise each
    n, k, tc = len(futures), len(levels), context.shape[1]
    x0 = torch.cat([context.expand(n, -1, -1, -1, -1), futures], 1)  # (N, T, c, h, w)
    x0 = repeat(x0, "n t c h w -> (two k n) t c h w", two=2, k=k)
    gen = torch.Generator().manual_seed(seed)
    shared = torch.randn((k, *futures.shape[1:]), generator=gen).to(x0)  # (K, H, c, h, w)
    noise = torch.zeros_like(x0)  # (2 K N, T, c, h, w): the context stays clean
    noise[:, tc:] = repeat(shared, "k t c h w -> (two k n) t c h w", two=2, n=n)
    level = torch.tensor(levels, dtype=x0.dtype, device=x0.device)  # (K,)
    noised = torch.zeros(x0.shape[:2], dtype=x0.dtype, device=x0.device)  # (2 K N, T)
    noised[:, tc:] = repeat(level, "k -> (two k n) t", two=2, n=n, t=futures.shape[1])
    text = None
    if texts is not None:
        text = TextBatch(*(repeat(v, "two ... -> (two k n) ...", k=k, n=n) for v in texts))
    if clock is not None:
        clock = clock.expand(x0.shape[0], -1)  # (2 K N, T)
    err = clean_estimate_error(model, x0, noise, noised, None, text, clock, cells)  # (2 K N,)
    return rearrange(err, "(two k n) -> two k n", two=2, k=k).mean(1)  # (2, N)


def imagine_candidates(policies: list, frames: list, plans: list, codecs: list, seeds: list):
    """Latents (E N, Tc' + horizon, c, h, w), episode by episode: its encoded real context, then
    each of its N candidates' imagined future (empty caption; the context's executed actions, then
    the candidate's; the episode's own seeded noise), all E episodes in one batch, each as alone."""
    first = policies[0]
    m, tf, horizon = first.imaginer.module, first.imaginer.time_factor, first.imaginer.cfg.horizon
    n = {len(p) for p in plans}
    if len(n) > 1:
        raise ValueError(f"episodes imagined together need one count of candidates, not {n}")
    z = first.imaginer.encode(frames)  # (E, Tc', c, h, w)
    width, ages = m.model_cfg.action_dim, m.model_cfg.action_ages
    acts = torch.cat([
        pack_actions(p.past_actions(f, codec), cands, width, tf, ages, p.history(codec))
        for p, f, cands, codec in zip(policies, frames, plans, codecs, strict=True)
    ]).to(m.device)  # fmt: skip
    sample = replace(m.sample_cfg, sampler=replace(m.sample_cfg.sampler, steps=first.cfg.steps))
    (count,) = n
    runner = m.mode_runner([""] * count * len(plans), list(seeds), sample)
    clock = first.imaginer.clock(len(frames[0]), count * len(plans), z.shape[1] + horizon)
    return runner.extend_forward(z.repeat_interleave(count, dim=0), horizon, acts, clock)


class LikelihoodPolicy:
    """Imagine N candidate action sequences, execute the first `execute` actions of the one whose
    future the prompt explains best, replan.

    With an empty prompt (`likelihood_no_prompt`) every score is 0 by construction (the prompt
    and the empty caption are the same), so the planner picks a seeded random candidate: the
    same candidates and the same imagination, without the prompt's choice.
    """

    def __init__(
        self,
        name: str,
        imaginer: Imaginer,
        cfg: LikelihoodConfig,
        prompt_of: Callable[[Any, int], str],
        execute: int,
    ):
        if cfg.candidates < 1 or not cfg.levels or cfg.draws < 1 or execute < 1:
            raise ValueError(
                f"likelihood.candidates={cfg.candidates}, levels={cfg.levels}, draws={cfg.draws}, "
                f"execute={execute}: need at least one candidate, level and draw, and execute >= 1"
            )
        if cfg.contrast not in CONTRASTS:
            raise ValueError(f"likelihood.contrast={cfg.contrast!r}: choose from {CONTRASTS}")
        self.name, self.imaginer, self.cfg, self.prompt_of = name, imaginer, cfg, prompt_of
        self.execute = min(execute, imaginer.cfg.horizon * imaginer.time_factor)
        self.seed, self.prompt, self.executed = 0, "", []

    def reset(self, env, seed: int, start: dict[str, Any]) -> None:
        """A new episode: its seed, its prompt (`prompt_of(env, seed)`), no actions yet."""
        self.seed, self.prompt, self.executed = seed, self.prompt_of(env, seed), []

    def baseline(self) -> str:
        """The caption the prompt is compared against: empty, or (`contrast=event`) the prompt
        without its event sentences; empty when the prompt has none (Push)."""
        return contrast_caption(self.prompt, self.cfg.contrast)

    def candidates(self, env, step: int) -> tuple[np.ndarray, list[str], int]:
        """This plan's candidate sequences (N, L, A) as codec vectors, their families, its seed."""
        seed = plan_seed(self.seed, step)
        length = self.imaginer.cfg.horizon * self.imaginer.time_factor
        plans, families = candidates(env.unwrapped.action_codec, length, self.cfg.candidates, seed)
        return plans, families, seed

    def past_actions(self, frames: list[np.ndarray], codec) -> np.ndarray:
        """Codec vectors (Tc, A) of the actions that led to the encoded context's frames."""
        if len(self.executed) != len(frames) - 1:
            raise RuntimeError(f"{len(frames)} frames after {len(self.executed)} planned actions")
        used = self.imaginer.context_frames(len(frames))
        return context_actions(self.executed, codec.encode(codec.noop()), used)

    def history(self, codec) -> np.ndarray:
        """Codec vectors (T, A) of the action that led to each frame of the episode so far, from
        its reset (frame 0: the no-op), as the recorder stores them."""
        noop = codec.encode(codec.noop())
        return np.stack([noop, *self.executed]).astype(np.float32)

    def imagine(self, frames, plans: np.ndarray, codec, seed: int) -> torch.Tensor:
        """Latents (N, Tc' + horizon, c, h, w) of this episode's candidates `plans` (N, L, A)."""
        return imagine_candidates([self], [frames], [plans], [codec], [seed])

    def act(self, env, frames: list[np.ndarray], step: int) -> Plan:
        return self.act_many([self], [env], [frames], step)[0]

    @staticmethod
    def act_many(policies: list, envs: list, frames: list, step: int) -> list[Plan]:
        """`act` of episodes in lockstep: their candidates imagined in one batch
        (`imagine_candidates`), then each episode scores and chooses its own."""
        drawn = [p.candidates(env, step) for p, env in zip(policies, envs, strict=True)]
        codecs = [env.unwrapped.action_codec for env in envs]
        plans, families, seeds = zip(*drawn, strict=True)
        seq = imagine_candidates(policies, frames, list(plans), codecs, list(seeds))
        n = len(plans[0])
        return [
            p.choose(env, f, step, seq[k * n : (k + 1) * n], plans[k], families[k], seeds[k])
            for k, (p, env, f) in enumerate(zip(policies, envs, frames, strict=True))
        ]

    def choose(
        self, env, frames: list[np.ndarray], step: int, seq, plans, families, seed: int
    ) -> Plan:
        """The plan of imagined candidates `seq` (N, Tc' + horizon, c, h, w): the one whose
        future the prompt explains best (a seeded random one without a prompt)."""
        codec, m, horizon = (
            env.unwrapped.action_codec,
            self.imaginer.module,
            self.imaginer.cfg.horizon,
        )
        if self.prompt:
            texts = m.encode_text([self.prompt, self.baseline()])
            context, futures = seq[:1, :-horizon], seq[:, -horizon:]
            clock = self.imaginer.clock(len(frames), 1, seq.shape[1])
            err = prompt_errors(
                m.model, context, futures, texts, self.cfg.levels, seed, self.cfg.draws, clock
            )  # (2, N)
            scores = (err[0] - err[1]).float().cpu().numpy()  # lower: the prompt explains better
            chosen = int(scores.argmin())
        else:
            scores = np.zeros(len(plans))
            chosen = int(np.random.default_rng(seed).integers(len(plans)))
        actions = [codec.decode(v) for v in plans[chosen, : self.execute]]
        self.executed += [codec.encode(a) for a in actions]
        used = self.imaginer.context_frames(len(frames))
        video = self.imaginer.decode(seq[chosen : chosen + 1])[0]  # (Tc + L, H, W, 3)
        shown = video[used - 1 : used + len(actions)].astype(np.float32)  # last real, then plan
        info = {
            "step": step,
            "candidates": len(plans),
            "chosen": chosen,
            "family": families[chosen],
            "score": float(scores[chosen]),
            "scores": {k: float(f(scores)) for k, f in SPREAD.items()},
            "read": [np.asarray(a).tolist() for a in actions],  # the plan's actions, as executed
            "imagined_change": float(np.abs(np.diff(shown, axis=0)).mean()),
        }
        return Plan(actions, video[used : used + len(actions)], None, info)
