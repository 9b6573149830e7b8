"""The decoder probe of RESULTS.md section 18, whose decoder ships in `pretrained:crafter`: the VAE
of a world model file, its decoder trained alone on a 2-core CPU (the encoder frozen, so the
model's latents stay valid), saved as a VAE checkpoint for `worldsim export autoencoder=`.

    worldsim record env=crafter_mix policy=mixed episodes=64 steps=257 seed=6000 workers=2 \
        out=STORE
    python experiments/game_world_models/decoder_probe.py MODEL STORE 600 2e-4 OUT_VAE

AdamW at a constant `lr`, no warm-up and no EMA; batches of 4 random 17-frame clips; L1 + MSE
of the decoded posterior mean. Kept as the record of the shipped weights: the library's path
for the same job is `worldsim train-vae init=MODEL decoder_only=true` (warm-up, EMA, resumable).
"""

import sys
import time

import numpy as np
import torch
from einops import rearrange

from worldsim.data.store import EpisodeStore
from worldsim.models.autoencoder import save_autoencoder
from worldsim.training.world_model import load_world_model

BATCH, FRAMES = 4, 17


def main(model, store, steps, lr, out):
    torch.manual_seed(0)
    vae = load_world_model(model, "cpu").autoencoder().train()
    episodes = EpisodeStore(store)
    videos = [  # (T, C, H, W) in [-1, 1]
        torch.from_numpy(np.array(episodes.load(n).frames)).float().permute(0, 3, 1, 2) / 127.5 - 1
        for n in episodes.names()
    ]
    vae.encoder.requires_grad_(False)
    opt = torch.optim.AdamW(vae.decoder.parameters(), lr=float(lr), betas=(0.9, 0.99))
    rng, clock, losses = np.random.default_rng(0), time.time(), []
    for step in range(int(steps)):
        clips = []
        for _ in range(BATCH):
            v = videos[rng.integers(len(videos))]
            start = rng.integers(0, len(v) - FRAMES)
            clips.append(v[start : start + FRAMES])
        x = rearrange(torch.stack(clips), "b t c h w -> b c t h w")
        with torch.no_grad():
            z = vae.encode(x)  # the posterior mean: what world models are trained on
        y = vae.decoder(z)
        loss = (y - x).abs().mean() + ((y - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.decoder.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == int(steps) - 1:
            print(f"{step} loss {np.mean(losses[-50:]):.4f} {time.time() - clock:.0f}s", flush=True)
    meta = {"probe": f"decoder_probe.py {model} {store} {steps} {lr}"}
    save_autoencoder(vae.eval(), out, meta=meta)


if __name__ == "__main__":
    main(*sys.argv[1:])
