"""Does a DiT's own rollout count the energy up while its sleeper sleeps, and wake on it? RESULTS
section 76.

Usage: python experiments/game_world_models/sleep_rollouts.py STORE CKPT [DEVICE [SEEDS]] > OUT
For each long sleep of STORE (scripted Crafter episodes from their reset, as wake_probe.py), the
DiT sees its true window ending 8 frames into the sleep and rolls out on its own, with the true
actions and clock, at each noise seed of SEEDS (default 0), until 24 frames after the truth's
wake-up. The energy digit (energy_probe.py's reader, fitted on all of STORE's true frames) is
read off every generated frame. Printed: how far the rendered energy rises while the draw
sleeps, how often it matches the truth's frame for frame, and the energy the draw shows on its
last sleeping frame before it wakes (the truth: 9). A DiT that wakes by the digit wakes at 8 or
9; one that wakes by a hazard wakes at whatever it shows.
"""

import json
import sys
import time

import numpy as np
import torch
from energy_probe import ENERGY, fit_reader, read  # this folder's
from evaluate import episodes, held_out_data, refuse  # this folder's evaluate.py
from keep_frames import night_sleeps  # this folder's
from sleep_count import LONG  # this folder's

from envs.crafter.sleep_view import sleeper_view
from evals.latent_rollout import encode_frames, rollout
from evals.model import from_model_frames
from worldsim.config import ConfigError
from worldsim.training.world_model import load_world_model

INTO = 8  # frames of the sleep the context shows
AFTER = 24  # frames rolled out past the truth's wake-up


def sleep_rollout(m, ep, a: int, b: int, seed: int) -> np.ndarray:
    """The DiT's frames (T, H, W, 3) uint8 from its window ending INTO frames after sleep start
    `a`, rolled out until AFTER frames past the truth's wake-up `b`; frame 0 is the env step
    after the context's last."""
    tf, window = m.latent_info.time_factor, m.sample_cfg.window
    last = (a + INTO) // tf + 1  # the context's last latent frame (episode indexing)
    first = max(0, last - (window - 1))
    new = (b + AFTER) // tf + 1 - last
    clip = np.asarray(ep.frames[tf * first : tf * last + 1])  # (1 + tf (last - first), H, W, 3)
    context = encode_frames(m, clip, len(clip))[None]  # (1, Tc, c, h, w)
    raw = torch.from_numpy(np.array(ep.actions[: 1 + tf * (last + new)], np.float32))[None]
    acts = m.latent_actions(raw, last + new + 1)  # (1, T', A'): ages counted from the reset
    acts = None if acts is None else acts[:, first:]
    seq = rollout(m, context, acts, [""], new, seed=seed, first_step=tf * first)
    pixels = from_model_frames(m.decode(seq))[0]  # (1 + tf (Tc - 1 + new), H, W, 3): causal
    return pixels[len(clip) :]  # (tf new, H, W, 3): env steps tf last + 1 on


def main(store, ckpt, device="cpu", noise_seeds="0"):
    if not all(s.isdigit() for s in noise_seeds.split(",")):
        refuse(f"SEEDS {noise_seeds!r} is not a seed or a list (0,1)", "sleep_rollouts")
    clock, m = time.time(), load_world_model(ckpt, device)
    eps, tf = episodes(store), m.latent_info.time_factor
    reader = fit_reader(eps)
    draws = []
    for ep in eps:
        frames = np.asarray(ep.frames)  # (T, H, W, 3) uint8
        energy = ep.truth["extra_inventory"][:, ENERGY]  # (T,)
        for a, b in night_sleeps(frames, AFTER + tf):  # the rollout's last latent frame fits
            for seed in noise_seeds.split(","):
                made = sleep_rollout(m, ep, a, b, int(seed))  # (T, H, W, 3)
                start = tf * ((a + INTO) // tf + 1) + 1  # the env step of made[0]
                shown, asleep = read(reader, made), sleeper_view(made)
                truth = energy[start : start + len(made)]
                woke = int(np.argmin(asleep)) if not asleep.all() else len(made)
                slept = slice(0, woke)  # the draw's frames up to its first awake one
                draws.append({
                    "sleep": [int(a), int(b)], "seed": int(seed),
                    "woke_vs_truth": start + woke - int(b),
                    "energy_first": int(shown[0]), "energy_at_waking": int(shown[max(woke - 1, 0)]),
                    "rise_while_asleep": int(shown[slept].max() - shown[0]) if woke else 0,
                    "matches_truth": float((shown[slept] == truth[slept]).mean()) if woke else None,
                })  # fmt: skip
    if not draws:
        refuse(
            f"STORE {store} holds no sleep of {LONG}+ frames that ends inside it", "sleep_rollouts"
        )
    at_waking = [d["energy_at_waking"] for d in draws if d["woke_vs_truth"] < AFTER]
    res = {
        "ckpt": ckpt,
        "held_out_data": held_out_data(store),
        "draws": len(draws),
        "woke_within_4_of_truth": sum(abs(d["woke_vs_truth"]) <= 4 for d in draws),
        "woke_early": sum(d["woke_vs_truth"] < -4 for d in draws),
        "energy_at_waking": {int(v): at_waking.count(v) for v in sorted(set(at_waking))},
        "mean_rise_while_asleep": float(np.mean([d["rise_while_asleep"] for d in draws])),
        "mean_match_while_asleep": float(
            np.mean([d["matches_truth"] for d in draws if d["matches_truth"] is not None])
        ),
        "by_draw": draws,
    }
    print(json.dumps({**res, "wall_s": round(time.time() - clock, 1)}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4, 5):
        refuse(__doc__.split("\n\n")[1].splitlines()[0], "sleep_rollouts")
    try:
        main(*sys.argv[1:])
    except (ConfigError, FileNotFoundError) as err:  # a missing store or model file
        refuse(str(err), "sleep_rollouts")
