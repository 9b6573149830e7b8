"""Teacher-forced next latent frame on more windows than evaluate.py's CPU count, with the IDM
check: RESULTS.md section 8 (`results_crafter_tf48.json`).

Usage: python experiments/game_world_models/teacher_forced.py STORE WINDOWS [CKPT [DEVICE
       [CAPTIONS]]] > OUT
STORE holds held-out Crafter episodes; windows (each the file's sampling window long, its new
frame after the others, true) start every 2nd latent frame, evenly subsampled.
CAPTIONS: `true` (the default, the gate's: each window's true caption) or one of evaluate.py's
long-rollout texts, `none`, `clock` or `foreseen` (RESULTS section 61).
"""

import json
import sys
import time

from evaluate import (  # this folder's evaluate.py
    CAPTIONS,
    CRAFTER_IDM,
    episodes,
    forced,
    held_out_data,
    refuse,
    told_captions,
)

from evals.latent_rollout import encode_latent_episode
from worldsim.config import ConfigError
from worldsim.models.idm import load_idm
from worldsim.training.world_model import load_world_model


def main(store, windows, ckpt="pretrained:crafter", device="cpu", captions="true"):
    if captions not in ("true", *CAPTIONS):
        refuse(f"CAPTIONS {captions!r} is not one of true, {', '.join(CAPTIONS)}", "teacher_forced")
    clock, m = time.time(), load_world_model(ckpt, device)
    res = bars(m, store, int(windows), captions)
    print(json.dumps({**res, "captions": captions, "wall_s": time.time() - clock}, indent=1))


def bars(m, store: str, windows: int, captions: str = "true") -> dict:
    """The teacher-forced bars of world model `m` on `windows` windows of STORE's episodes, each
    window told `captions` (see the usage), with the IDM check and the store's manifest."""
    eps = []
    for e in episodes(store):
        lat = encode_latent_episode(m, e, text=captions == "true")
        if captions in ("clock", "foreseen"):
            lat.captions = told_captions(e.actions, captions)
        eps.append(lat)
    res = forced(m, eps, 2, windows, load_idm(CRAFTER_IDM))
    res["held_out_data"] = held_out_data(store)
    return res


if __name__ == "__main__":
    if len(sys.argv) not in range(3, 7) or not sys.argv[2].isdigit():
        refuse(
            "usage: teacher_forced.py STORE WINDOWS [CKPT [DEVICE [CAPTIONS]]]", "teacher_forced"
        )
    try:
        main(*sys.argv[1:])
    except (ConfigError, FileNotFoundError) as err:  # a missing store or model file
        refuse(str(err), "teacher_forced")
