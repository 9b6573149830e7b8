"""One step ahead by hour of Crafter's day: does a model move the light the way the truth does, at
dusk (falling) and at dawn (rising)? RESULTS section 69.

Usage: python experiments/game_world_models/hour_probe.py STORE COUNT [CKPT [DEVICE]] > OUT
STORE holds Crafter episodes recorded from their reset (step 0); COUNT windows at most per hour
(each the file's sampling window long, its last latent frame sampled after the true others,
the empty prompt, as the long rollouts sample).
"""

import json
import sys
import time

import numpy as np
import torch
from evaluate import episodes, held_out_data, refuse  # this folder's evaluate.py

from envs.crafter.captions import DAY_STEPS
from evals.latent_rollout import encode_latent_episode, teacher_forced, window_frames
from worldsim.training.world_model import load_world_model

HOURS = {"day": (20, 100), "dusk": (120, 185), "deep_night": (185, 235), "dawn": (235, 300)}
MOVED = 0.5  # uint8 levels: the truth's light moves when its mean changes by more than this


def brightness(frames: torch.Tensor) -> np.ndarray:
    """Frames (N, T, C, H, W) in [-1, 1] -> their mean level (N,), in uint8 units."""
    return ((frames.float() + 1) * 127.5).mean(dim=(1, 2, 3, 4)).numpy()


def hour_windows(eps, length: int, tf: int, count: int) -> dict[str, list[tuple[int, int]]]:
    """Per hour of HOURS, at most `count` (episode, k) windows, evenly spread, whose predicted
    latent frame k + length - 1 ends at an env step of that hour of the day."""
    out = {}
    for hour, (a, b) in HOURS.items():
        found = [
            (e, k)
            for e, ep in enumerate(eps)
            for k in range(len(ep.latents) - length + 1)
            if a <= tf * (k + length - 1) % DAY_STEPS < b
        ]
        out[hour] = found[:: max(1, len(found) // count)][:count]
    return out


def light_moves(m, eps, windows, length: int) -> dict:
    """Teacher-forced PSNR of the model and copy-last, and how the light of the new frames moves
    from the last true context frame, in the truth and in the model's frames."""
    tf = m.latent_info.time_factor
    res = teacher_forced(m, eps, windows, length, keep=True)
    truth = window_frames(eps, windows, length, tf)  # (N, 1 + tf, C, H, W)
    last, true_new = brightness(truth[:, :1]), brightness(truth[:, 1:])
    model_new = brightness(res["frames"])
    moved = np.abs(true_new - last) > MOVED
    same_way = np.sign(model_new - last) == np.sign(true_new - last)
    agree = float(100 * same_way[moved].mean()) if moved.any() else None
    return {
        "windows": len(windows),
        "psnr_model": float(res["model"].mean()),
        "psnr_copy_last": float(res["copy_last"].mean()),
        "true_light_move": float((true_new - last).mean()),
        "model_light_move": float((model_new - last).mean()),
        "moved_windows": int(moved.sum()),
        "model_moves_the_same_way_pct": agree,
        "model_minus_true_brightness": float((model_new - true_new).mean()),
    }


def main(store, count, ckpt="pretrained:crafter", device="cpu"):
    began, m = time.time(), load_world_model(ckpt, device)
    eps = [encode_latent_episode(m, e, text=False) for e in episodes(store)]  # the empty prompt
    length, tf = m.sample_cfg.window, m.latent_info.time_factor
    groups = hour_windows(eps, length, tf, int(count))
    res = {hour: light_moves(m, eps, w, length) for hour, w in groups.items() if w}
    res |= {"ckpt": ckpt, "window": length, "held_out_data": held_out_data(store)}
    print(json.dumps({**res, "wall_s": time.time() - began}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4, 5) or not sys.argv[2].isdigit():
        refuse(__doc__.split("\n\n")[1].splitlines()[0], "hour_probe")
    main(*sys.argv[1:])
