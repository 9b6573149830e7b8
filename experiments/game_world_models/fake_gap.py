"""The gap a distribution-matching step would follow (game RESULTS section 43, the second check):
a fake score F, a copy of the file trained briefly with the flow loss on the file's own rolled-out
windows, against the frozen file R. DMD moves a generated window x along R's clean estimate minus
F's; if the smear is what sets the file's rollouts apart from real play, that step should add
detail to smeared windows (F has learnt the smear, R has not) and leave true ones alone.

TRAIN rollouts (episodes of STORE, each rolled out 250 latent frames from its first frame under its
actions at noise seed 0) give F's windows (every 8-frame window, stride 1). The held-out episode
EP rolled out at SEED gives the smeared windows (its latent frames 151-250); its true latents the
true ones. Printed per set and level tau: the mean |R - F| of the clean estimates, and the
sharpness of the decoded windows before and after the step x + (R - F).

    python experiments/game_world_models/fake_gap.py STORE TRAIN EP SEED STEPS OUT [CKPT [DEVICE]]

TRAIN is a comma-separated list of episode names; STEPS F's optimiser steps (batch 8: about
1.8 s a step on 2 CPU cores).
"""

from __future__ import annotations

import copy
import runpy
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import torch

from evals.latent_rollout import encode_latent_episode, rollout
from worldsim.data.store import EpisodeStore

HERE = Path(__file__).resolve().parent
GAME = runpy.run_path(str(HERE / "evaluate.py"))
PULL = runpy.run_path(str(HERE / "teacher_pull.py"))
LEVELS, BATCH, WINDOW = (0.3, 0.5, 0.7), 8, PULL["WINDOW"]


def rolled(m, held: EpisodeStore, name: str, seed: int):
    """An episode's true latents and actions, and the file's 250-frame rollout of it."""
    ep, frames = held.load(name), GAME["LONG_FRAMES"]
    raw = SimpleNamespace(
        frames=ep.frames[:frames], actions=ep.actions[:frames], length=frames, captions={}
    )
    lat = encode_latent_episode(m, raw, text=False)
    acts = None if lat.actions is None else lat.actions[None]
    z = rollout(m, lat.latents[None, :1], acts, [""], GAME["LONG"], seed=seed)[0]  # (251, ...)
    return lat.latents, lat.actions, z


def every_window(actions, z: torch.Tensor):
    """Every WINDOW-frame window of a rollout z (T, c, h, w) after its first (true) frame, stride
    1, with its actions: (N, WINDOW, c, h, w) and (N, WINDOW, A) or None."""
    starts = range(1, len(z) - WINDOW + 1)
    cut = lambda x: None if x is None else torch.stack([x[s : s + WINDOW] for s in starts])  # noqa: E731
    return cut(z), cut(actions)


def train_fake(m, latents: torch.Tensor, actions, steps: int):
    """F: a copy of `m` trained `steps` flow-loss steps on the windows (N, WINDOW, ...)."""
    fake = copy.deepcopy(m)
    fake.model.requires_grad_(True)
    fake.flow = replace(fake.flow, context_estimate=0.0, drop_actions=0.0, drop_text=0.0)
    fake.model.train()
    opt = torch.optim.AdamW(fake.model.parameters(), lr=1e-4, weight_decay=0.0)
    rng = torch.Generator().manual_seed(0)
    for step in range(steps):
        pick = torch.randint(0, len(latents), (BATCH,), generator=rng)
        batch = {"latents": latents[pick], "actions": None if actions is None else actions[pick]}
        loss = fake.loss(batch, rng)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"F step {step}: flow loss {float(loss.detach()):.4f}", flush=True)
    fake.model.eval()
    return fake


@torch.no_grad()
def gaps(m, fake, x0: torch.Tensor, acts) -> dict:
    """Per level: mean |R - F| of the clean estimates, and the decoded sharpness after the step."""
    out = {"sharpness": PULL["mean_sharpness"](m, x0)}
    for tau in LEVELS:
        levels = torch.full(x0.shape[:2], tau, device=x0.device)  # (N, WINDOW)
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)).to(x0.device)
        x = (1 - tau) * x0 + tau * noise
        real = x - tau * m.model(x, levels, actions=acts)  # R's clean estimate
        made = x - tau * fake.model(x, levels, actions=acts)  # F's
        out[str(tau)] = {
            "mean_abs_gap": float((real - made).abs().mean()),
            "sharpness_after_step": PULL["mean_sharpness"](m, x0 + (real - made)),
        }
    return out


def main(store, train, episode, seed, steps, out, ckpt="pretrained:doom", device="cpu") -> None:
    out = GAME["json_out"](out, "fake_gap")
    held = EpisodeStore(store)
    names = train.split(",")
    if any(n not in held.names() for n in [*names, episode]):
        GAME["refuse"](f"TRAIN {train} and EP {episode} must be episodes of {store}", "fake_gap")
    clock, m = time.time(), GAME["load_model"](ckpt, device)
    m.model.eval()
    pieces = [every_window(*rolled(m, held, name, 0)[1:]) for name in names]
    latents = torch.cat([p[0] for p in pieces])  # (N, WINDOW, c, h, w)
    actions = None if pieces[0][1] is None else torch.cat([p[1] for p in pieces])
    print(f"rolled out {names}: {len(latents)} windows", flush=True)
    fake = train_fake(m, latents, actions, int(steps))
    true, acts, z = rolled(m, held, episode, int(seed))
    sets = {
        "true": PULL["windows"](true, acts, 1, GAME["LONG"] + 1),
        "rollout, latent frames 151-250": PULL["windows"](z, acts, 151, GAME["LONG"] + 1),
    }
    res = {"model": ckpt, "store": store, "train": names, "episode": episode, "seed": int(seed)}
    res.update(held_out_data=GAME["held_out_data"](store), fake_steps=int(steps), sets={})
    for name, (x0, a) in sets.items():
        res["sets"][name] = gaps(m, fake, x0, a)
        print(name, res["sets"][name], flush=True)
    res["wall_s"] = time.time() - clock
    GAME["write_json"](out, res)


if __name__ == "__main__":
    main(*sys.argv[1:])
