"""Teacher-forced next frames scored on the creatures (prompt control RESULTS section 28): does
`flow.object_weight` make a DiT draw the creatures it predicts closer to the truth?

Each CKPT predicts the new frames of COUNT windows of the store's episodes (evaluate.py's gate
windows: its own window, one every 2 latent frames, evenly subsampled, only those whose new
frames show a creature), as the gate does; the PSNR of its frames, of the true latents decoded
(the autoencoder's ceiling) and of copy-last (the last true context frame) is pooled over the
pixels the truth's instance map gives a creature, over the rest, and over the whole frames;
the model's also against the decoded true latents (what its loss can reach), and the model's
with each window given another window's actions (a model that reads its actions places what
moves worse with them). The creature pixels are also split by their object's speed
(object_speed.py's bands): at rest (under 0.25 px a frame) and moving. Every CKPT decodes with
its own autoencoder: compare files that share one.

    python experiments/game_world_models/object_forced.py STORE COUNT CKPT... > out.json

SAMPLING= samples with `evaluate.load_model`'s overrides, e.g. SAMPLING=sampler.steps=1: one
Euler step from noise, the flow's estimate of the mean next frame rather than a draw of it.
TEXT=0 gives every window the empty caption (the truth's captions, the default, describe the
window's own motion: with them a model may move things by the words and not the actions).
"""

import json
import os
import sys

import evaluate  # this folder's
import numpy as np
import torch
from einops import rearrange
from object_speed import speed_bands  # this folder's

from evals.latent_rollout import encode_latent_episode, new_frames, teacher_forced, window_frames
from worldsim.metrics import masked_psnr

STRIDE = 2  # latent frames between windows, the gate's
SAMPLING = os.environ.get("SAMPLING") or None  # evaluate.load_model's overrides; None: the file's
TEXT = os.environ.get("TEXT", "1") != "0"  # the truth's captions (TEXT=0: the empty one)


def creature_mask(raw, window, length: int, tf: int) -> torch.Tensor:
    """(tf, 1, H, W) bool: the pixels a creature covers in a window's new frames."""
    e, k = window
    mask = np.asarray(raw[e].truth["instance"][new_frames(k + length - 1, tf)]) >= 0
    return rearrange(torch.from_numpy(mask), "t h w -> t 1 h w")


def score(ckpt: str, store: str, count: int) -> dict:
    m = evaluate.load_model(ckpt, "cpu", SAMPLING)
    raw = evaluate.episodes(store)
    eps = [encode_latent_episode(m, ep, TEXT) for ep in raw]
    length, tf = m.sample_cfg.window, m.latent_info.time_factor
    masks = {
        w: creature_mask(raw, w, length, tf)
        for w in evaluate.window_starts(eps, STRIDE, 10**9, length)
    }
    seen = [w for w, mask in masks.items() if mask.any()]
    windows = seen[:: max(1, len(seen) // count)][:count]
    forced = teacher_forced(m, eps, windows, length, keep=True)
    truth = window_frames(eps, windows, length, tf)  # (N, 1 + tf, C, H, W)
    target = truth[:, 1:]  # (N, tf, C, H, W)
    preds = {
        "model": forced["frames"],
        "vae": forced["vae_frames"],
        "copy_last": truth[:, :1].expand_as(target),
    }
    if m.model_cfg.action_dim:  # do the actions place what moves? each window another's actions
        shuffled = teacher_forced(m, eps, windows, length, shuffle=True, keep=True)
        preds["model_shuffled_actions"] = shuffled["frames"]
    creatures = torch.stack([masks[w] for w in windows])  # (N, tf, 1, H, W)
    bands = window_bands(raw, windows, length, tf)  # (N, tf, 1, H, W)
    regions = {"creatures": creatures, "rest": ~creatures}
    regions |= {"creatures_at_rest": bands == 0, "creatures_moving": bands > 0}
    out = {"windows": len(windows), "creature_pixels_pct": 100 * creatures.float().mean().item()}
    out["moving_pixels_pct"] = 100 * (bands > 0).float().mean().item()
    for name, pred in preds.items():
        out[name] = {f"{k}_db": masked_psnr(pred, target, r).item() for k, r in regions.items()}
        out[name]["frame_db"] = masked_psnr(pred, target, torch.ones_like(creatures)).item()
    # the loss's own target: the model's creatures against the decoded true latents, the
    # autoencoder's error left out
    model, vae = preds["model"], preds["vae"]
    for k, region in regions.items():
        out["model"][f"{k}_vs_vae_db"] = masked_psnr(model, vae, region).item()
    return out


def window_bands(raw, windows, length: int, tf: int) -> torch.Tensor:
    """(N, tf, 1, H, W) speed band of each new frame's object pixels (-1: background)."""
    bands = {e: speed_bands(np.asarray(raw[e].truth["instance"])) for e in {e for e, _ in windows}}
    picked = [bands[e][new_frames(k + length - 1, tf)] for e, k in windows]  # (tf, H, W) each
    return rearrange(torch.from_numpy(np.stack(picked)), "n t h w -> n t 1 h w")


def main() -> None:
    if len(sys.argv) < 4 or not sys.argv[2].isdigit():
        sys.exit("usage: python object_forced.py STORE COUNT CKPT... > out.json")
    store, count = sys.argv[1], int(sys.argv[2])
    res = {"store": evaluate.held_out_data(store), "stride": STRIDE}
    res["sampling"] = SAMPLING or "the checkpoint's"
    res["captions"] = "the truth's" if TEXT else "empty"
    for ckpt in sys.argv[3:]:
        res[ckpt] = score(ckpt, store, count)
        print(ckpt, json.dumps(res[ckpt]), file=sys.stderr)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
