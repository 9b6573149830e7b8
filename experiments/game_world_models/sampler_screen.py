"""Screen sampler settings on one held-out episode before a full long-rollout evaluation: per
100-frame block, the sharpness and motion of a rollout from its first frame under its actions,
beside its VAE's reconstruction and the true frames (RESULTS.md section 12).

Usage: python experiments/game_world_models/sampler_screen.py CKPT STORE EPISODE LATENT SPEC...
EPISODE is a name in STORE; LATENT the latent frames to roll out (4 video frames each); SPEC is
sampler:steps:context_level, e.g. euler:10:0 heun:10:0 euler:10:0.3. Screen on episodes that are
not the long rollout's truth or references, so the choice does not tune the test.
"""

import sys
import time
from types import SimpleNamespace

import numpy as np
import torch

from evals.latent_rollout import encode_latent_episode, rollout
from evals.long_rollout import block_means, motion, sharpness
from evals.model import from_model_frames
from worldsim.data.store import EpisodeStore
from worldsim.training.world_model import load_world_model


def blocks(curve: np.ndarray) -> list[float]:
    return [round(v, 2) for v in block_means(curve)]


@torch.no_grad()
def main(ckpt, store, episode, latent, *specs):
    m, n = load_world_model(ckpt, "cpu"), int(latent)
    ep = EpisodeStore(store).load(episode)
    frames, actions = ep.frames[: 1 + 4 * n], ep.actions[: 1 + 4 * n]
    raw = SimpleNamespace(frames=frames, actions=actions, length=len(frames), captions={})
    lat = encode_latent_episode(m, raw, text=False)
    vae = from_model_frames(m.decode(lat.latents[None]).cpu())[0]
    print(f"{episode} ({len(frames)} frames) true sharpness {blocks(sharpness(np.array(frames)))}")
    print(f"VAE of the truth: sharpness {blocks(sharpness(vae))} motion {blocks(motion(vae))}")
    for spec in specs:
        name, steps, level = spec.split(":")
        m.sample_cfg.sampler.name, m.sample_cfg.sampler.steps = name, int(steps)
        m.sample_cfg.context_level = float(level)
        clock = time.time()
        z = rollout(m, lat.latents[None, :1], lat.actions[None], [""], n, first_step=0)
        px = from_model_frames(m.decode(z).cpu())[0]
        print(f"{spec}: sharpness {blocks(sharpness(px))} motion {blocks(motion(px))} "
              f"({time.time() - clock:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:])
