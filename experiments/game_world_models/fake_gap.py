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

import torch

HERE = Path(__file__).resolve().parent
GAME = runpy.run_path(str(HERE / "evaluate.py"))
PULL = runpy.run_path(str(HERE / "teacher_pull.py"))
LEVELS, BATCH = (0.3, 0.5, 0.7), 8


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
        x, levels = PULL["noised"](x0, tau, 0)
        real = PULL["clean_estimate"](m.model, x, levels, tau, acts)  # R's
        made = PULL["clean_estimate"](fake.model, x, levels, tau, acts)  # F's
        out[str(tau)] = {
            "mean_abs_gap": float((real - made).abs().mean()),
            "sharpness_after_step": PULL["mean_sharpness"](m, x0 + (real - made)),
        }
    return out


def main(store, train, episode, seed, steps, out, ckpt="pretrained:doom", device="cpu") -> None:
    out = GAME["json_out"](out, "fake_gap")
    names = train.split(",")
    held = PULL["held_episodes"](store, [*names, episode], "fake_gap")
    clock, m = time.time(), GAME["load_model"](ckpt, device)
    m.model.eval()
    long, window = GAME["LONG"], PULL["windows"]
    pieces = []  # every window of each rollout after its first (true) frame, stride 1
    for name in names:
        _, acts, z = PULL["rolled_out"](m, held, name, 0)
        pieces.append(window(z, acts, 1, long + 1, stride=1))
    latents = torch.cat([p[0] for p in pieces])  # (N, WINDOW, c, h, w)
    actions = None if pieces[0][1] is None else torch.cat([p[1] for p in pieces])
    print(f"rolled out {names}: {len(latents)} windows", flush=True)
    fake = train_fake(m, latents, actions, int(steps))
    true, acts, z = PULL["rolled_out"](m, held, episode, int(seed))
    sets = {
        "true": window(true, acts, 1, long + 1),
        "rollout, latent frames 151-250": window(z, acts, 151, long + 1),
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
