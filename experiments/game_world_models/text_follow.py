"""Issue 15's "text matters" test at several text-guidance scales: from the first frames of
held-out Crafter episodes, actions null, opposite heading prompts (east/west, north/south); the
share of pairs whose generated image shift follows the prompts (chance 50%).

Usage: python experiments/game_world_models/text_follow.py STORE STARTS DEVICE CKPT SCALE... > OUT
STORE holds held-out Crafter episodes (seeds from 100000); STARTS first frames per axis (pairs = 2 x
STARTS); SCALE: classifier-free guidance scales of the prompt (1 = none).
"""

import json
import sys
import time

import numpy as np
import torch
from evaluate import episodes, held_out_data, refuse, text_pairs  # this folder's evaluate.py

from evals.latent_rollout import encode_latent_episode
from worldsim.config import ConfigError
from worldsim.training.world_model import load_world_model


def main(store, starts, device, ckpt, *scales):
    clock, m = time.time(), load_world_model(ckpt, device)
    eps = [encode_latent_episode(m, e) for e in episodes(store)[: int(starts)]]
    first = torch.stack([e.latents[:1] for e in eps])  # (B, 1, c, h, w)
    res = {"ckpt": ckpt, "starts": len(eps), "held_out_data": held_out_data(store), "by_scale": {}}
    for scale in scales:
        m.sample_cfg.guidance.text_scale = float(scale)
        row = text_pairs(m, first)
        row["follow_pct"] = float(np.mean([row[a]["follow_pct"] for a in "xy"]))
        res["by_scale"][scale] = row
    print(json.dumps({**res, "wall_s": time.time() - clock}, indent=1))


if __name__ == "__main__":
    usage = "usage: text_follow.py STORE STARTS DEVICE CKPT SCALE..."
    if len(sys.argv) < 6 or not sys.argv[2].isdigit():
        refuse(usage, "text_follow")
    try:
        [float(s) for s in sys.argv[5:]]  # refused here, not after the model has loaded
    except ValueError:
        refuse(f"each SCALE is a number, got {sys.argv[5:]}; {usage}", "text_follow")
    try:
        main(*sys.argv[1:])
    except (ConfigError, FileNotFoundError) as err:  # a missing store or model file
        refuse(str(err), "text_follow")
