"""Speed of a truth's noise seeds rolled out in one batch against one at a time (RESULTS 47).

Usage: python experiments/game_world_models/seed_batch.py CKPT LATENT_FRAMES [DEVICE]
Rolls LATENT_FRAMES latent frames from one random first frame with null actions under seeds 0, 1
and 2, first one seed at a time, then as one batch (`rollout(..., seed=[0, 1, 2])`), and prints
both wall times and the largest difference between the two (batch numerics alone).
"""

import sys
import time

import torch

from evals.latent_rollout import rollout
from worldsim.training.world_model import load_world_model


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main(ckpt: str, frames: int, device: str = "cpu") -> None:
    torch.manual_seed(0)
    m = load_world_model(ckpt).eval().to(device)
    info, cfg = m.latent_info, m.model_cfg
    side = 64 // info.space_factor  # the game models' 64 px frames
    first = torch.randn(1, 1, cfg.latent_channels, side, side, device=device)  # (1, 1, c, h, w)
    acts = torch.zeros(1, 1 + frames, cfg.action_dim, device=device)  # (1, 1 + n, A')
    seeds = [0, 1, 2]
    n = len(seeds)
    firsts = first.expand(n, -1, -1, -1, -1)  # (n, 1, c, h, w)
    actss = acts.expand(n, -1, -1)  # (n, 1 + frames, A')
    # untimed: the first calls pay for text encoding, kernel choice and allocation, which
    # would otherwise be charged to whichever way is timed first
    rollout(m, first, acts[:, :2], [""], 1)
    rollout(m, firsts, actss[:, :2], [""] * n, 1, seed=seeds)
    alone, t_alone = timed(lambda: [rollout(m, first, acts, [""], frames, seed=s) for s in seeds])
    together, t_batch = timed(lambda: rollout(m, firsts, actss, [""] * n, frames, seed=seeds))
    diff = (together - torch.cat(alone)).abs().max().item()
    print(
        f"{frames} latent frames, {n} seeds on {device}: one at a time {t_alone:.1f} s, "
        f"one batch {t_batch:.1f} s, x{t_alone / t_batch:.2f}; max |diff| {diff:.1e}"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])
