"""The decoder probe of RESULTS.md section 18, whose decoder ships in `pretrained:crafter`: the VAE
of a world model file, its decoder trained alone on a 2-core CPU (the encoder frozen, so the
model's latents stay valid), saved as a VAE checkpoint for `worldsim export autoencoder=`.

    worldsim record env=crafter_mix policy=mixed episodes=64 steps=257 seed=6000 workers=2 \
        out=STORE
    python experiments/game_world_models/decoder_probe.py MODEL STORE 600 2e-4 OUT_VAE [CREATURES]

AdamW at a constant `lr`, no warm-up and no EMA; batches of 4 random 17-frame clips; L1 + MSE
of the decoded posterior mean, each pixel weighted 1, or 1 + CREATURES where the truth's
instance map holds a creature or the player (prompt_control RESULTS section 22: a cow comes
back from the shipped autoencoder at 14.7 dB). Kept as the record of the shipped weights: the
library's path for the same job is `worldsim train-vae init=MODEL decoder_only=true` (warm-up,
EMA, resumable), with `loss.object_weight=CREATURES` for CREATURES (the same weights, on every
object the instance map marks).
"""

import sys
import time

import numpy as np
import torch
from einops import rearrange

from worldsim.data.store import EpisodeStore
from worldsim.models.autoencoder import save_autoencoder
from worldsim.training.autoencoder import object_weights
from worldsim.training.world_model import load_world_model

BATCH, FRAMES = 4, 17


def main(model, store, steps, lr, out, creatures=0):
    torch.manual_seed(0)
    vae = load_world_model(model, "cpu").autoencoder().train()
    episodes = [EpisodeStore(store).load(n) for n in EpisodeStore(store).names()]
    videos = [  # (T, C, H, W) in [-1, 1]
        torch.from_numpy(np.array(ep.frames)).float().permute(0, 3, 1, 2) / 127.5 - 1
        for ep in episodes
    ]
    instances = [torch.from_numpy(np.array(ep.truth["instance"])) for ep in episodes]  # (T, H, W)
    vae.encoder.requires_grad_(False)
    opt = torch.optim.AdamW(vae.decoder.parameters(), lr=float(lr), betas=(0.9, 0.99))
    rng, clock, losses = np.random.default_rng(0), time.time(), []
    for step in range(int(steps)):
        clips, masks = [], []
        for _ in range(BATCH):
            k = rng.integers(len(videos))
            start = rng.integers(0, len(videos[k]) - FRAMES)
            clips.append(videos[k][start : start + FRAMES])
            masks.append(instances[k][start : start + FRAMES])
        x = rearrange(torch.stack(clips), "b t c h w -> b c t h w")
        w = object_weights(torch.stack(masks), float(creatures))  # (B, 1, T, H, W)
        with torch.no_grad():
            z = vae.encode(x)  # the posterior mean: what world models are trained on
        y = vae.decoder(z)
        loss = (w * ((y - x).abs() + (y - x) ** 2)).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.decoder.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == int(steps) - 1:
            print(f"{step} loss {np.mean(losses[-50:]):.4f} {time.time() - clock:.0f}s", flush=True)
    meta = {"probe": f"decoder_probe.py {model} {store} {steps} {lr} {creatures}"}
    save_autoencoder(vae.eval(), out, meta=meta)


if __name__ == "__main__":
    main(*sys.argv[1:])
