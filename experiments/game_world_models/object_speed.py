"""Does the autoencoder lose the objects because they move? (prompt control RESULTS section 32)

Each episode of STORE is encoded (as `worldsim encode` does) and decoded whole by CKPT (a
train-vae checkpoint, or a world model with its autoencoder bundled); every frame's object pixels
(the truth's instance map) are pooled by how far their object's centroid moved since the previous
frame, and the reconstruction's PSNR is given per speed band, beside the background's.
Static objects that come back blurred say the autoencoder's spatial code is short of them; only
moving ones, that its time compression (4 frames a latent frame) smears them.

    python experiments/game_world_models/object_speed.py STORE CKPT > out.json
    python experiments/game_world_models/object_speed.py STORE EPISODE OUT.png CKPT...  # a picture

The picture: one held-out episode's every 8th frame, the truth's row, then each CKPT's
reconstruction in a row of its own.
"""

import json
import sys

import evaluate  # this folder's
import numpy as np
import torch
from einops import rearrange

from evals.model import to_model_frames
from worldsim.metrics import masked_psnr
from worldsim.models.autoencoder import load_autoencoder
from worldsim.models.latents import encode_episode
from worldsim.video import save_frame_strip, to_uint8

BANDS = (0.0, 0.25, 1.0, 2.0, 4.0, np.inf)  # centroid pixels moved since the previous frame


def speed_bands(instance: np.ndarray) -> np.ndarray:
    """(T, H, W) instance ids (-1: background) -> (T, H, W) band index of each object pixel's
    object speed (-1: background; frame 0, with no previous frame, -2)."""
    bands = np.full(instance.shape, -2)
    for t in range(1, len(instance)):
        bands[t][instance[t] < 0] = -1
        for i in np.unique(instance[t][instance[t] >= 0]):
            before = np.argwhere(instance[t - 1] == i)
            now = np.argwhere(instance[t] == i).mean(0)
            speed = np.linalg.norm(now - before.mean(0)) if len(before) else np.inf
            bands[t][instance[t] == i] = np.searchsorted(BANDS, speed, side="right") - 1
    return bands


@torch.no_grad()
def reconstruct(vae, raw) -> tuple[torch.Tensor, int]:
    """(T, C, H, W) in [-1, 1]: episode `raw` encoded (as `worldsim encode` does) and decoded
    whole; T, its frames the time factor covers."""
    used = 1 + (raw.length - 1) // vae.time_factor * vae.time_factor
    z = torch.from_numpy(encode_episode(vae, raw.frames, used, vae.cfg.encode_chunk, "cpu"))
    video = vae.decode(rearrange(z, "t c h w -> 1 c t h w"))[0]  # (C, T, H, W)
    return rearrange(video, "c t h w -> t c h w"), used


def picture(store: str, episode: int, out: str, ckpts: list[str]) -> None:
    raw = evaluate.episodes(store)[episode]
    rows = [np.asarray(raw.frames)]  # (T, H, W, 3) uint8
    rows += [to_uint8(reconstruct(load_autoencoder(c), raw)[0].numpy()) for c in ckpts]
    save_frame_strip([r[: len(rows[-1])] for r in rows], out, every=8)


@torch.no_grad()
def main(store: str, ckpt: str) -> dict:
    vae = load_autoencoder(ckpt)
    recon, truth, bands = [], [], []
    for raw in evaluate.episodes(store):
        video, used = reconstruct(vae, raw)
        recon.append(video)  # (T, C, H, W)
        truth.append(to_model_frames(np.asarray(raw.frames[:used])[None])[0])  # (T, C, H, W)
        bands.append(speed_bands(np.asarray(raw.truth["instance"][:used])))
    recon, truth = torch.cat(recon), torch.cat(truth)  # (N, C, H, W)
    bands = rearrange(torch.from_numpy(np.concatenate(bands)), "n h w -> n 1 h w")
    out = {"ckpt": ckpt, "store": evaluate.held_out_data(store)}
    out["background_db"] = masked_psnr(recon, truth, bands == -1).item()
    for k, (lo, hi) in enumerate(zip(BANDS, BANDS[1:])):
        mask = bands == k
        out[f"objects moving {lo}-{hi} px/frame"] = {
            "db": masked_psnr(recon, truth, mask).item() if mask.any() else None,
            "pixels_pct": 100 * mask.float().mean().item(),
        }
    return out


if __name__ == "__main__":
    torch.set_num_threads(2)
    if len(sys.argv) == 3:
        print(json.dumps(main(*sys.argv[1:3]), indent=1))
    elif len(sys.argv) >= 5 and sys.argv[2].isdigit():
        picture(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    else:
        sys.exit("usage: python object_speed.py STORE CKPT | STORE EPISODE OUT.png CKPT...")
