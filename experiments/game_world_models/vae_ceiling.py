"""The VAE's ceiling on issue 15's 70% bar (RESULTS.md section 18): on teacher_forced.py's changed
windows, how often the VAE's own reconstruction of the true new frames beats copy-last, by band of
copy-last PSNR. No model sampling: seconds on a GPU, minutes on a CPU.

Usage: python experiments/game_world_models/vae_ceiling.py STORE WINDOWS CKPT [VAE [DEVICE]] > OUT
CKPT: the world model whose latents and windows are scored; VAE: another VAE checkpoint to decode
them with (one with the same encoder, e.g. a decoder fine-tune: WorldModel.replace_decoder refuses
another), default the model's own.
"""

import json
import sys

import numpy as np
import torch
from evaluate import episodes, held_out_data, window_starts  # this folder's evaluate.py

from evals.latent_rollout import CHANGED_BELOW_DB, encode_latent_episode, window_frames
from worldsim.metrics import psnr
from worldsim.training.world_model import load_world_model

BANDS = (0.0, 18.0, 22.0, 26.0, np.inf)  # copy-last PSNR, dB


@torch.no_grad()
def main(store, windows, ckpt, vae="", device="cpu"):
    m = load_world_model(ckpt, device)
    eps = [encode_latent_episode(m, e) for e in episodes(store)]  # with the model's own encoder
    if vae:
        m.replace_decoder(vae)
    tf, copy_last, recon = m.latent_info.time_factor, [], []
    starts = window_starts(eps, 2, int(windows))
    for i in range(0, len(starts), 32):
        batch = starts[i : i + 32]
        z = torch.stack([eps[e].latents[k : k + 8] for e, k in batch])  # (B, 8, c, h, w)
        frames = m.decode(z)[:, -tf:].cpu()  # (B, tf, C, H, W)
        truth = window_frames(eps, batch, 8, tf)  # (B, 1 + tf, C, H, W)
        copy_last.append(psnr(truth[:, :1].expand_as(truth[:, 1:]), truth[:, 1:]).mean(-1))
        recon.append(psnr(frames, truth[:, 1:]).mean(-1))
    copy_last, recon = torch.cat(copy_last).numpy(), torch.cat(recon).numpy()
    changed = copy_last < CHANGED_BELOW_DB
    bands = []
    for lo, hi in zip(BANDS, BANDS[1:]):
        inside = changed & (copy_last >= lo) & (copy_last < hi)
        wins = float(100 * (recon[inside] > copy_last[inside]).mean()) if inside.any() else None
        bands.append({"copy_last_db": [lo, None if hi == np.inf else hi],
                      "windows": int(inside.sum()), "vae_beats_copy_last_pct": wins})  # fmt: skip
    out = {"ckpt": ckpt, "vae": vae or "bundled", "windows": len(starts),
           "changed": int(changed.sum()),
           "vae_beats_copy_last_pct": float(100 * (recon[changed] > copy_last[changed]).mean()),
           "vae_psnr_changed": float(recon[changed].mean()),
           "copy_last_psnr_changed": float(copy_last[changed].mean()), "bands": bands,
           "held_out_data": held_out_data(store)}  # fmt: skip
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
