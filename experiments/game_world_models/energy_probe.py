"""Can a world model's latents tell how long a Crafter sleep has left? RESULTS section 76.

Usage: python experiments/game_world_models/energy_probe.py STORE CKPT [DEVICE] > OUT
A sleeper wakes when its energy is full (crafter/objects.py: energy 9, one point per ~11 steps
asleep), and the energy is drawn as a digit in the inventory bar, which stays lit in the dark
sleeping view: it is the one cue inside a window of when the sleep ends. The digit is about 3 x 5
pixels at 64 x 64. A nearest-centroid reader of the energy slot is fitted on the true frames of
STORE's even episodes (labels: the truth's inventory) and read on the odd episodes' long sleeps
(envs/crafter/sleep_view.py, LONG frames or more, from the frame before the sleep to a few after
the wake-up): off the true frames (the reader's ceiling) and off the same clips encoded and
decoded by CKPT's autoencoder (its bundled decoder). If the reconstructions keep the digit, the
DiT's window holds the cue; if they lose it, no DiT on these latents can time a wake-up from the
frames. Printed: accuracy (exact and within one) per true energy, on sleeping frames.
"""

import json
import sys
import time

import numpy as np
from evaluate import episodes, held_out_data, refuse  # this folder's evaluate.py
from keep_frames import night_sleeps  # this folder's
from sleep_count import LONG  # this folder's

from envs.crafter.sleep_view import sleeper_view
from evals.latent_rollout import encode_frames
from evals.model import from_model_frames
from worldsim.config import ConfigError
from worldsim.training.world_model import load_world_model

ENERGY = 3  # the energy's column of the truth's inventory (health, food, drink, energy, ...)
SLOT = (slice(48, 56), slice(21, 28))  # rows, columns of the energy slot at 64 x 64 (unit 7 px)
AFTER = 4  # frames kept after each wake-up


def crops(frames: np.ndarray) -> np.ndarray:
    """Frames (T, 64, 64, 3) uint8 -> the energy slot's pixels (T, 168) float."""
    return frames[:, SLOT[0], SLOT[1]].reshape(len(frames), -1).astype(np.float32)


def fit_reader(eps) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-centroid reader from every frame of `eps`: (energies (K,), centroids (K, 168))."""
    x = np.concatenate([crops(np.asarray(ep.frames)) for ep in eps])  # (N, 168)
    y = np.concatenate([ep.truth["extra_inventory"][:, ENERGY] for ep in eps])  # (N,)
    values = np.unique(y)
    return values, np.stack([x[y == v].mean(0) for v in values])


def read(reader, frames: np.ndarray) -> np.ndarray:
    """Frames (T, 64, 64, 3) uint8 -> the energy each shows (T,)."""
    values, centroids = reader
    d = ((crops(frames)[:, None] - centroids[None]) ** 2).sum(-1)  # (T, K)
    return values[d.argmin(1)]


def reconstruct(m, frames: np.ndarray) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 -> (T', H, W, 3) uint8 through `m`'s autoencoder, T' = 1 + 4k."""
    tf = m.latent_info.time_factor
    z = encode_frames(m, frames, 1 + (len(frames) - 1) // tf * tf)  # (T'', c, h, w)
    return from_model_frames(m.decode(z[None]))[0]  # decode: (1, T', 3, H, W) in [-1, 1]


def score(shown: np.ndarray, truth: np.ndarray) -> dict:
    """Per true energy: frames, exact and within-one shares of the reading."""
    out = {}
    for v in np.unique(truth):
        hit = truth == v
        out[int(v)] = {
            "frames": int(hit.sum()),
            "exact": round(float((shown[hit] == v).mean()), 3),
            "within_one": round(float((abs(shown[hit] - v) <= 1).mean()), 3),
        }
    out["all"] = {
        "frames": len(truth),
        "exact": round(float((shown == truth).mean()), 3),
        "within_one": round(float((abs(shown - truth) <= 1).mean()), 3),
    }
    return out


def main(store, ckpt, device="cpu"):
    clock, m = time.time(), load_world_model(ckpt, device)
    if m.autoencoder() is None:
        refuse(f"CKPT {ckpt} names no autoencoder: give one that bundles its VAE", "energy_probe")
    eps = episodes(store)
    reader = fit_reader(eps[0::2])
    truths, true_read, vae_read = [], [], []
    for ep in eps[1::2]:
        frames = np.asarray(ep.frames)  # (T, H, W, 3) uint8
        energy = ep.truth["extra_inventory"][:, ENERGY]  # (T,)
        for a, b in night_sleeps(frames, AFTER - 1):  # the clip's last frame: b + AFTER - 1
            clip = slice(a - 1, b + AFTER)
            made = reconstruct(m, frames[clip])  # (T', H, W, 3)
            shown = frames[clip][: len(made)]
            asleep = sleeper_view(shown)  # (T',) bool
            truths.append(energy[clip][: len(made)][asleep])
            true_read.append(read(reader, shown[asleep]))
            vae_read.append(read(reader, made[asleep]))
    if not truths:
        refuse(f"STORE {store} has no sleep of {LONG}+ frames in odd episodes", "energy_probe")
    truth = np.concatenate(truths)
    res = {
        "ckpt": ckpt,
        "held_out_data": held_out_data(store),
        "sleeps": len(truths),
        "reader_frames": int(sum(ep.length for ep in eps[0::2])),
        "true_frames": score(np.concatenate(true_read), truth),
        "reconstructed_frames": score(np.concatenate(vae_read), truth),
    }
    print(json.dumps({**res, "wall_s": round(time.time() - clock, 1)}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        refuse(__doc__.split("\n\n")[1].splitlines()[0], "energy_probe")
    try:
        main(*sys.argv[1:])
    except (ConfigError, FileNotFoundError) as err:  # a missing store or model file
        refuse(str(err), "energy_probe")
