"""The rollout bank: training contexts made of the model's own autoregressive rollouts.

A long rollout drifts into states that no recording shows (game RESULTS section 38: ViZDoom's
rollouts settle on a flat, still smear that true play never is), so a model trained on true
contexts alone never learns the way out of them. The bank rolls the training model out, without
gradients, from a pool of true windows under each episode's own actions, `frames` latent frames
one at a time as the shipped sampling does, and keeps each rollout's last T - 1 frames. A share of
every batch then learns to predict the episode's true next frame from that context, as Diffusion
Forcing and Self Forcing train on their own samples. The target is a regression to the episode,
so it is fair only while the rollout still matches the episode's view. Measured on ViZDoom at 8
latent frames (section 40) it no longer did: a bank sample cost twice a true one's loss, and
training on them taught the model to discount its context (one step ahead it fell to
copy-last). Contexts only partly rolled out cost more than true ones too (section 42: 1.30
times the loss with one rolled frame of 7), so `flow.rollout_share` is off by default. The bank's
contexts serve `flow.dmd` instead, a loss that needs no matching truth (Self Forcing's
distribution matching, `worldsim.diffusion.dmd`; section 44).

The bank is rolled every `refresh` steps, not every step: one rollout of the pool costs a few
training steps. Which windows it rolls from depends only on the seed and the refresh's index, so a
resumed run rebuilds the bank of its refresh period (rolled by the resumed weights).

`carry` > 0 makes the contexts older than an episode (Self Forcing++'s extended rollouts): that
share of each refresh's rollouts goes on from the last bank's contexts instead of a true window,
under the actions (and caption) of a newly drawn window. A rollout's age then grows by `frames`
at each refresh it is carried, geometrically distributed with mean `frames / (1 - carry)`. Crafter's
rollouts smear 200 to 900 video frames in (game RESULTS section 47), far past a 24-frame bank
rolled from true windows of episodes that end at about 190 frames. Only DMD may use it: a carried
context no longer matches the episode's next frame. A resumed run starts the carry afresh.
Measured on Crafter at 0.8 (game RESULTS section 49) it made the long rollouts worse (3 of 12
validation draws held against 9): on those old, hazy contexts the teacher itself continues the
haze, and DMD teaches the student to follow it. Off by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from worldsim.data.resident import ResidentWindows
from worldsim.diffusion.guidance import cat_rows
from worldsim.models.dit import TextBatch

# (context (P, T-1, c, h, w), frames, actions (P, T-1+frames, A) or None, text or None, seed)
#   -> the rollout (P, T-1+frames, c, h, w), context included
Rollout = Callable[[torch.Tensor, int, torch.Tensor | None, TextBatch | None, int], torch.Tensor]


def rollout_seeds(starts: torch.Tensor, frames: int) -> torch.Tensor:
    """Ids j of the windows (starts (W,): each window's first row, stride 1) from which a rollout
    of `frames` latent frames stays inside one episode: window j + frames starts `frames` rows
    after window j. Windows of one episode have consecutive ids one row apart, and the next
    episode's first window starts a whole window after the last one, so any episode boundary
    between them makes the gap larger."""
    j = torch.arange(max(len(starts) - frames, 0), device=starts.device)
    return j[starts[j + frames] - starts[j] == frames]


@dataclass
class Pool:
    """One window bucket's bank: training windows whose first T - 1 frames a rollout replaces."""

    bucket: int  # the bucket's number in the resident windows
    targets: torch.Tensor  # (P,) long: window ids, their last frame the target
    context: torch.Tensor  # (P, T-1, c, h, w): the rollouts' last T - 1 frames
    age: torch.Tensor  # (P,) long: latent frames rolled since each rollout left a true window


class RolloutBank:
    """`frames`-frame rollouts of `pool` windows per bucket, rolled by `refresh` (a `carry` share
    of them going on from the last refresh's) and mixed into training batches by `mix`."""

    def __init__(self, frames: int, pool: int, seed: int, chunk: int = 256, carry: float = 0.0):
        if not 0.0 <= carry < 1.0:
            raise ValueError(f"carry={carry}: the share of carried rollouts lies in [0, 1)")
        self.frames, self.pool, self.seed, self.chunk = frames, pool, seed, chunk
        self.carry = carry
        self.pools: dict[tuple[int, int, int], Pool] = {}  # (T, h, w) -> its bucket's bank
        self.index: int | None = None  # the refresh period the pools were rolled in

    def refresh(self, resident: ResidentWindows, rollout: Rollout, index: int) -> None:
        """Roll a new bank for refresh period `index` from every bucket of `resident`."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        # the carried rows are drawn apart, so that which windows are rolled never depends on
        # whether a last bank exists (a resumed run rolls the same ones)
        carry_gen = torch.Generator().manual_seed(self.seed * 1_000_003 + index + 500_009)
        last, self.pools = (self.pools if self.carry else {}), {}
        for number, bucket in enumerate(resident.buckets):
            context_frames = bucket.length - 1
            if self.frames < context_frames:
                raise ValueError(
                    f"flow.rollout_frames={self.frames}: a rollout must make at least the "
                    f"{context_frames} context frames of a {bucket.length}-frame window"
                )
            seeds = rollout_seeds(bucket.starts, self.frames)
            if len(seeds) == 0:
                continue  # episodes too short for a rollout this long
            pick = seeds[torch.randint(len(seeds), (self.pool,), generator=gen).to(seeds.device)]
            span = torch.arange(context_frames + self.frames, device=pick.device)
            rows = bucket.starts[pick, None] + span  # (P, T-1+frames)
            text = resident.text_rows(number, pick)
            key = (bucket.length, *bucket.latents.shape[-2:])
            context = bucket.latents[rows[:, :context_frames]]  # (P, T-1, c, h, w)
            age = torch.full((self.pool,), self.frames, device=pick.device)  # (P,)
            if self.carry and key in last:  # the first rows go on from the last bank's
                carried = round(self.carry * self.pool)
                which = torch.randperm(len(last[key].age), generator=carry_gen)[:carried]
                context[:carried] = last[key].context[which.to(context.device)]
                age[:carried] += last[key].age[which.to(age.device)]
            parts = []
            for s in range(0, self.pool, self.chunk):
                part = slice(s, s + self.chunk)
                seq = rollout(
                    context[part],
                    self.frames,
                    bucket.actions[rows[part]],
                    None if text is None else text.rows(part),
                    self.seed + index + s,
                )
                parts.append(seq[:, -context_frames:])  # (chunk, T-1, c, h, w)
            self.pools[key] = Pool(number, pick + self.frames, torch.cat(parts), age)
        self.index = index

    def ages(self) -> torch.Tensor:
        """(N,) the age in latent frames of every rollout in the bank, all buckets."""
        return (
            torch.cat([pool.age for pool in self.pools.values()]) if self.pools else torch.zeros(0)
        )

    def mix(self, resident: ResidentWindows, batch: dict, rows: int) -> dict:
        """`batch` (a resident batch) with its last `rows` samples replaced by bank windows of its
        bucket: the rollout's frames as context, the episode's true last frame; "rollout_rows"
        says how many. A bucket without a bank, or `rows` 0, leaves the batch as it is. Which bank
        windows: drawn on the batch's device, from torch's seeded RNG there (as the training noise
        is), so that the step never waits for a host copy."""
        latents = batch["latents"]  # (B, T, c, h, w)
        pool = self.pools.get((latents.shape[1], *latents.shape[-2:]))
        if pool is None or rows == 0:
            return {**batch, "rollout_rows": 0}
        pick = torch.randint(len(pool.targets), (rows,), device=pool.targets.device)
        bank = resident.gather(pool.bucket, pool.targets[pick])
        bank_latents = bank["latents"].clone()  # (K, T, c, h, w)
        bank_latents[:, :-1] = pool.context[pick]
        keep = latents.shape[0] - rows
        text = batch["text"]
        if text is not None:
            text = cat_rows([text.rows(slice(keep)), bank["text"]])
        mixed = {
            "latents": torch.cat([latents[:keep], bank_latents]),
            "actions": torch.cat([batch["actions"][:keep], bank["actions"]]),
            "text": text,
        }
        if "objects" in batch:  # the bank rows' loss is on their episode's true last frame: the
            # objects of that frame are the truth (their rolled context frames carry no loss)
            mixed["objects"] = torch.cat([batch["objects"][:keep], bank["objects"]])
        return {**batch, **mixed, "rollout_rows": rows}
