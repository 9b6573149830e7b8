"""Teacher-forced next latent frame on more windows than evaluate.py's CPU count, with the IDM
check: RESULTS.md section 8 (`results_crafter_tf48.json`).

Usage: python experiments/game_world_models/teacher_forced.py STORE WINDOWS [CKPT [DEVICE]] > OUT
STORE holds held-out Crafter episodes; windows start every 2nd latent frame, evenly subsampled.
"""

import json
import sys
import time

from evaluate import CRAFTER_IDM, episodes, forced, held_out_data  # this folder's evaluate.py

from evals.latent_rollout import encode_latent_episode
from worldsim.models.idm import load_idm
from worldsim.training.world_model import load_world_model


def main(store, windows, ckpt="pretrained:crafter", device="cpu"):
    clock, m = time.time(), load_world_model(ckpt, device)
    eps = [encode_latent_episode(m, e) for e in episodes(store)]
    res = forced(m, eps, 2, int(windows), load_idm(CRAFTER_IDM))
    res["held_out_data"] = held_out_data(store)
    print(json.dumps({**res, "wall_s": time.time() - clock}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
