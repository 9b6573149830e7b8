"""Does a Push world model move the puck where the prompt says? From the first real frames of
held-out `env=push_control` episodes, actions null, it imagines the control loop's plan (horizon
latent frames) under "The puck moves D." for each direction D, with the same noise; the shipped
Push IDM reads the plan's actions, as `worldsim control` would. A pair of opposite prompts
follows when the IDM's mean command along their axis is larger for the prompt that asks for the
larger one (chance 50%).

Also: the share of plans whose reading points the named way (the sign along the named axis):
pairs can order right while every plan drifts one way.

Usage: python experiments/prompt_control/push_text_follow.py STORE CKPT [context=N] [SCALE...]
STORE: held-out push_control episodes of at least 5 frames; context: the first N real frames
(default 5, the control loop's; 1 is where every control episode starts: the puck at rest after
reset); SCALE: text guidance (default 1). Runs on the GPU when there is one.
"""

import json
import sys
import time

import numpy as np

from envs.captions import FLOOR_DIRECTIONS
from worldsim.control.control_config import ImagineConfig
from worldsim.control.imagine import Imaginer
from worldsim.data.store import EpisodeStore
from worldsim.jobs.encode import resolve_device
from worldsim.models.idm import load_idm
from worldsim.training.world_model import load_world_model

IDM = "worldsim/assets/idm/push_control.pt"


def main(store, ckpt, *args):
    context = int(args[0].removeprefix("context=")) if args and "=" in args[0] else 5
    scales = args[1:] if args and "=" in args[0] else args
    clock, m, idm = time.time(), load_world_model(ckpt, resolve_device("auto")), load_idm(IDM)
    store = EpisodeStore(store)
    starts = [np.asarray(store.load(n).frames[:context]) for n in store.names()]  # (Tc, H, W, 3)
    res = {"ckpt": ckpt, "starts": len(starts), "context": context, "by_scale": {}}
    for scale in scales or ("1",):
        # the Imaginer sets the guidance it samples with from its own config (until session 31
        # this script set the model's, which the Imaginer overrode: every scale ran at 4)
        imaginer = Imaginer(m, ImagineConfig(guidance=float(scale)))
        read = {}  # direction -> (starts, 2) the IDM's mean command over each imagined plan
        for d in FLOOR_DIRECTIONS:
            prompts = [f"The puck moves {d}."] * len(starts)  # start i's noise: seed i, as alone
            plans = imaginer.imagine_many(starts, prompts, list(range(len(starts))))
            read[d] = np.stack(
                [idm.read_actions(p.video[0])[p.context - 1 :].mean(0) for p in plans]
            )
        pairs = {  # the IDM's actions are (right, forward)
            "left/right": read["right"][:, 0] > read["left"][:, 0],
            "forward/back": read["forward"][:, 1] > read["back"][:, 1],
        }
        named = {d: np.array([a, -b]) for d, (a, b) in FLOOR_DIRECTIONS.items()}  # as commands
        res["by_scale"][scale] = {
            "mean_command": {d: r.mean(0).round(3).tolist() for d, r in read.items()},
            "named_way_pct": {d: 100 * float((r @ named[d] > 0).mean()) for d, r in read.items()},
            "follow_pct": {k: 100 * float(v.mean()) for k, v in pairs.items()},
            "follow_pct_all": 100 * float(np.concatenate(list(pairs.values())).mean()),
        }
    print(json.dumps({**res, "wall_s": time.time() - clock}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
