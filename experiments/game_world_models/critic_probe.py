"""Can a realism critic on a DiT's features tell true Crafter frames from a model's hazy ones?

A check before a GPU run with `flow.dmd_gan_weight` (RESULTS section 51): the critic's head
(`RealismHead`) is trained alone on the frozen features of TRUNK (the fake score's starting
weights), true latent frames of STORE's episodes against the frames MADE rolls out from their
first latent frames under the episodes' actions, each frame noised to a level drawn in
0.02..0.98 as the run noises it. Episodes are split: the last quarter is held out. It prints
(JSON) the held-out accuracy at fixed levels, apart for true day and true night frames
(Crafter's daylight from the frame's step), so that a critic that only learnt "dark is made" shows.
LR is the head's Adam learning rate (a run trains it at `optim.lr`).

Usage: python experiments/game_world_models/critic_probe.py STORE MADE TRUNK [LATENT_FRAMES [STEPS
       [LR]]]
"""

import json
import math
import sys

import torch

from evals.latent_rollout import encode_latent_episode, rollout
from worldsim.data.store import EpisodeStore
from worldsim.diffusion.flow import noisy
from worldsim.models.realism_head import RealismHead
from worldsim.training.world_model import load_world_model

LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)
CONTEXT = 7  # latent frames of truth before a rollout


def daylight(step: int) -> float:
    """Crafter's daylight at an env step (crafter.Env._update_time)."""
    progress = (step / 300) % 1 + 0.3
    return 1 - abs(math.cos(math.pi * progress)) ** 3


def frames_of(store: EpisodeStore, made, new: int):
    """Per episode: its true latent frames (T, c, h, w), their daylight (T,), and the frames
    `made` rolls out after the first CONTEXT (new, c, h, w)."""
    out = []
    for name in store.names():
        episode = store.load(name)
        lat = encode_latent_episode(made, episode, text=False)
        if lat.latents.shape[0] < CONTEXT + new:
            continue
        tf = made.latent_info.time_factor
        light = torch.tensor([daylight(max(0, tf * k)) for k in range(lat.latents.shape[0])])
        actions = None if lat.actions is None else lat.actions[None, : CONTEXT + new]
        with torch.no_grad():
            seq = rollout(made, lat.latents[None, :CONTEXT], actions, None, new, first_step=0)
        out.append((lat.latents, light, seq[0, CONTEXT:]))
    return out


def features(trunk, frames: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The trunk's last-block tokens (N, L, D) for single frames (N, c, h, w) at levels (N,)."""
    x = frames[:, None]  # (N, 1, c, h, w)
    with torch.no_grad():
        return trunk.features(noisy(x, torch.randn_like(x), levels[:, None]), levels[:, None])


def main(store, made_ckpt, trunk_ckpt, new: int = 60, steps: int = 300, lr: float = 1e-3) -> None:
    torch.manual_seed(0)
    made, trunk = load_world_model(made_ckpt), load_world_model(trunk_ckpt).model.eval()
    episodes = frames_of(EpisodeStore(store), made, new)
    cut = max(1, len(episodes) * 3 // 4)
    train, test = episodes[:cut], episodes[cut:]

    def pool(eps):  # (true frames, their daylight, made frames)
        return tuple(torch.cat([e[i] for e in eps]) for i in range(3))

    (t_true, _, t_made), (h_true, h_light, h_made) = pool(train), pool(test)
    head = RealismHead(trunk.cfg.dim)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    batch = 32
    for _ in range(steps):
        pick_true = t_true[torch.randint(len(t_true), (batch,))]
        pick_made = t_made[torch.randint(len(t_made), (batch,))]
        frames = torch.cat([pick_true, pick_made])  # (2B, c, h, w)
        levels = 0.02 + 0.96 * torch.rand(2 * batch)
        logits = head(features(trunk, frames, levels))
        labels = torch.cat([torch.ones(batch), torch.zeros(batch)])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    night = h_light < 0.5
    result = {"store": store, "made": made_ckpt, "trunk": trunk_ckpt, "steps": steps, "lr": lr}
    result["held_out"] = {"true_day": int((~night).sum()), "true_night": int(night.sum())}
    result["held_out"]["made"] = len(h_made)
    result["accuracy"] = {}

    def said_true(frames: torch.Tensor, level: float) -> torch.Tensor:  # (N,) bool
        with torch.no_grad():
            return head(features(trunk, frames, torch.full((len(frames),), level))) > 0

    for level in LEVELS:
        on_true = said_true(h_true, level)
        result["accuracy"][str(level)] = {
            "true_day": round(on_true[~night].float().mean().item(), 3),
            "true_night": round(on_true[night].float().mean().item(), 3),
            "made": round((~said_true(h_made, level)).float().mean().item(), 3),
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[4:6]] + [float(a) for a in sys.argv[6:7]]
    main(sys.argv[1], sys.argv[2], sys.argv[3], *numbers)
