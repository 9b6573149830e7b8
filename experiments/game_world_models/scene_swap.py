"""Does a scene-told ViZDoom model read its scene sentence? Teacher-forced next latent frame on
held-out `doom_my_way_home` windows, given the true scene sentence, the deathmatch scene sentence
in its place, or no text (RESULTS section 20).

Usage: python experiments/game_world_models/scene_swap.py STORE CKPT WINDOWS [DEVICE]
CKPT is a model with `text.keep` (run.sh DOOM_TEXT=scene); prints one JSON line per text, then all.
"""

import copy
import json
import sys

from evaluate import episodes, forced, held_out_data, load_model  # this folder's evaluate.py

from envs.doom.captions import SCENES
from evals.latent_rollout import encode_latent_episode

MAZE, ARENA = SCENES["my_way_home"][0], SCENES["deathmatch"][0]  # the scene descriptions


def in_the_arena(episode):
    """The episode with deathmatch's scene sentence in every caption."""
    swapped = copy.copy(episode)
    swapped.captions = json.loads(json.dumps(episode.captions).replace(MAZE, ARENA))
    return swapped


def main(store, ckpt, windows, device="cpu"):
    m, eps = load_model(ckpt, device), episodes(store)
    texts = {
        "true scene": (eps, True),
        "deathmatch scene": ([in_the_arena(e) for e in eps], True),
        "no text": (eps, False),
    }
    res = {"model": ckpt, "held_out_data": held_out_data(store)}
    for name, (group, text) in texts.items():
        latents = [encode_latent_episode(m, e, text) for e in group]
        scores = forced(m, latents, 1, int(windows))
        keep = ("windows", "changed", "model", "copy_last", "beats_copy_last_pct")
        res[name] = {k: scores[k] for k in keep}
        print(json.dumps({name: res[name]}), flush=True)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
