"""Does a file's own score see the smear? Game RESULTS section 43's first check, before any DMD
code: distribution matching can only pull a rollout back towards real play if the frozen file (the
real score) denoises a smeared window into something sharper than the window, as it does a true one.

One truth episode is rolled out for 250 latent frames from its first frame under its actions (the
long rollouts' sampling, `evaluate.py`). Non-overlapping 8-frame windows of three sets (the true
latents; the rollout's first 60 frames; its last 100, where a collapsing draw has smeared) are
noised to one shared level tau (all 8 frames, as a whole-window score sees them), and the file's
clean estimate x0 = x_tau - tau v is decoded. Printed per set and level: the sharpness (mean
neighbour difference, `evals.long_rollout.sharpness`) of the windows and of the estimates.

    python experiments/game_world_models/teacher_pull.py STORE EP SEED OUT [CKPT [DEVICE]]

EP is the truth's episode name in STORE (1,001 frames), SEED the rollout's noise seed, OUT a JSON
file; CKPT is pretrained:doom unless given.
"""

from __future__ import annotations

import json
import runpy
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

from evals.latent_rollout import encode_latent_episode, rollout
from evals.long_rollout import sharpness
from evals.model import from_model_frames
from worldsim.data.store import EpisodeStore

GAME = runpy.run_path(str(Path(__file__).resolve().parent / "evaluate.py"))
LEVELS, DRAWS, WINDOW = (0.3, 0.5, 0.7, 0.9), 4, 8


def windows(latents: torch.Tensor, actions: torch.Tensor | None, first: int, last: int):
    """Non-overlapping WINDOW-frame windows of latents (T, c, h, w) in [first, last) with their
    actions: (N, WINDOW, c, h, w) and (N, WINDOW, A) or None."""
    starts = range(first, last - WINDOW + 1, WINDOW)
    cut = lambda x: None if x is None else torch.stack([x[s : s + WINDOW] for s in starts])  # noqa: E731
    return cut(latents), cut(actions)


def mean_sharpness(m, z: torch.Tensor) -> float:
    """Mean sharpness of the decoded frames of latent windows z (N, WINDOW, c, h, w)."""
    frames = from_model_frames(m.decode(z))  # (N, T, H, W, 3) uint8
    return float(sharpness(frames.reshape(-1, *frames.shape[2:])).mean())


@torch.no_grad()
def main(store, episode, noise_seed, out, ckpt="pretrained:doom", device="cpu") -> None:
    out = GAME["json_out"](out, "teacher_pull")  # refused before minutes of work
    try:
        held = EpisodeStore(store)
    except FileNotFoundError as err:  # the store's own one line, with how to make one
        GAME["refuse"](str(err), "teacher_pull")
    if episode not in held.names():
        GAME["refuse"](f"EP {episode!r} is not an episode of the store {store}", "teacher_pull")
    clock, m = time.time(), GAME["load_model"](ckpt, device)
    ep = held.load(episode)
    frames = GAME["LONG_FRAMES"]
    raw = SimpleNamespace(
        frames=ep.frames[:frames], actions=ep.actions[:frames], length=frames, captions={}
    )
    lat = encode_latent_episode(m, raw, text=False)
    long = GAME["LONG"]
    acts = None if lat.actions is None else lat.actions[None]
    z = rollout(m, lat.latents[None, :1], acts, [""], long, seed=int(noise_seed))[0]  # (251, ...)
    sets = {
        "true": windows(lat.latents, lat.actions, 1, long + 1),
        "rollout, latent frames 1-60": windows(z, lat.actions, 1, 61),
        "rollout, latent frames 151-250": windows(z, lat.actions, 151, long + 1),
    }
    res = {"model": ckpt, "store": store, "episode": episode, "noise_seed": int(noise_seed)}
    res["held_out_data"] = GAME["held_out_data"](store)
    res["sets"] = {}
    for name, (x0, acts) in sets.items():
        row = {"windows": len(x0), "sharpness": mean_sharpness(m, x0), "estimate_sharpness": {}}
        for tau in LEVELS:
            levels = torch.full(x0.shape[:2], tau, device=x0.device)  # (N, WINDOW): one level
            draws = []
            for draw in range(DRAWS):
                rng = torch.Generator().manual_seed(draw)
                noise = torch.randn(x0.shape, generator=rng).to(x0.device)
                x = (1 - tau) * x0 + tau * noise
                estimate = x - tau * m.model(x, levels, actions=acts)  # the clean estimate
                draws.append(mean_sharpness(m, estimate))
            row["estimate_sharpness"][str(tau)] = sum(draws) / DRAWS
        res["sets"][name] = row
        print(name, json.dumps(row), flush=True)
    res["wall_s"] = time.time() - clock
    GAME["write_json"](out, res)


if __name__ == "__main__":
    main(*sys.argv[1:])
