"""How much the model's mean next-frame prediction depends on its actions (RESULTS.md section 7),
and, with actions null, on its captions (section 9).

Usage: python experiments/game_world_models/action_sensitivity.py STORE [CKPT] [EPISODES]
Windows of 8 latent frames, every 3rd start, of the first EPISODES (8) held-out episodes.
"""

import json
import sys

import torch

from evals.latent_rollout import encode_latent_episode, mean_prediction_error
from worldsim.data.store import EpisodeStore
from worldsim.training.world_model import load_world_model


def main(store, ckpt="pretrained:crafter", episodes=8):
    m, store = load_world_model(ckpt), EpisodeStore(store)
    eps = [encode_latent_episode(m, store.load(n)) for n in store.names()[: int(episodes)]]
    tf = m.latent_info.time_factor
    starts = [(e, k) for e in eps for k in range(0, e.latents.shape[0] - 8, 3)]
    windows = (
        torch.stack([e.latents[k : k + 8] for e, k in starts]),  # (B, 8, c, h, w)
        torch.stack([e.actions[k : k + 8] for e, k in starts]),  # (B, 8, A')
        [e.caption(k, 8, tf) for e, k in starts],
        [tf * k for _, k in starts],  # the env step of each window's first latent frame
    )
    copy = (windows[0][:, -2] - windows[0][:, -1]).pow(2).mean().item()
    res = {"windows": len(starts), "copy_last": copy}
    for level in (1.0, 0.7, 0.4):
        res[str(level)] = {
            a: mean_prediction_error(m, windows, level, a) for a in ("true", "shuffled", "null")
        }
    for level in (1.0, 0.7):  # with no actions the caption is the only word on the motion
        res[f"actions_null_{level}"] = {
            t: mean_prediction_error(m, windows, level, "null", text=t)
            for t in ("true", "shuffled", "null")
        }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
