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


def windows(
    latents: torch.Tensor, actions: torch.Tensor | None, first: int, last: int, stride=WINDOW
):
    """WINDOW-frame windows of latents (T, c, h, w) starting every `stride` frames in [first,
    last) (non-overlapping by default) with their actions: (N, WINDOW, c, h, w) and (N, WINDOW,
    A) or None."""
    starts = range(first, last - WINDOW + 1, stride)
    cut = lambda x: None if x is None else torch.stack([x[s : s + WINDOW] for s in starts])  # noqa: E731
    return cut(latents), cut(actions)


def mean_sharpness(m, z: torch.Tensor) -> float:
    """Mean sharpness of the decoded frames of latent windows z (N, WINDOW, c, h, w)."""
    frames = from_model_frames(m.decode(z))  # (N, T, H, W, 3) uint8
    return float(sharpness(frames.reshape(-1, *frames.shape[2:])).mean())


def held_episodes(store: str, names: list[str], script: str) -> EpisodeStore:
    """The store, refused in one line (exit code 2) when it or one of `names` is missing."""
    try:
        held = EpisodeStore(store)
    except FileNotFoundError as err:  # the store's own one line, with how to make one
        GAME["refuse"](str(err), script)
    missing = [n for n in names if n not in held.names()]
    if missing:
        GAME["refuse"](f"{missing} are not episodes of the store {store}", script)
    return held


def rolled_out(m, held: EpisodeStore, name: str, seed: int):
    """An episode's true latents (251, c, h, w) and actions, and the file's rollout of it: LONG
    latent frames from its first frame under its actions, noise `seed` (251, c, h, w)."""
    ep, frames = held.load(name), GAME["LONG_FRAMES"]
    raw = SimpleNamespace(
        frames=ep.frames[:frames], actions=ep.actions[:frames], length=frames, captions={}
    )
    lat = encode_latent_episode(m, raw, text=False)
    acts = None if lat.actions is None else lat.actions[None]
    z = rollout(m, lat.latents[None, :1], acts, [""], GAME["LONG"], seed=seed, first_step=0)[0]
    return lat.latents, lat.actions, z


def noised(x0: torch.Tensor, tau: float, seed: int):
    """Windows x0 (N, WINDOW, ...) noised to the one level tau with `seed`'s noise, and their
    levels (N, WINDOW)."""
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed)).to(x0.device)
    return (1 - tau) * x0 + tau * noise, torch.full(x0.shape[:2], tau, device=x0.device)


def clean_estimate(model, x: torch.Tensor, levels: torch.Tensor, tau: float, actions):
    """A DiT's clean estimate x - tau v of windows x at the one level tau."""
    return x - tau * model(x, levels, actions=actions)


@torch.no_grad()
def main(store, episode, noise_seed, out, ckpt="pretrained:doom", device="cpu") -> None:
    out = GAME["json_out"](out, "teacher_pull")  # refused before minutes of work
    held = held_episodes(store, [episode], "teacher_pull")
    clock, m = time.time(), GAME["load_model"](ckpt, device)
    true, actions, z = rolled_out(m, held, episode, int(noise_seed))
    long = GAME["LONG"]
    sets = {
        "true": windows(true, actions, 1, long + 1),
        "rollout, latent frames 1-60": windows(z, actions, 1, 61),
        "rollout, latent frames 151-250": windows(z, actions, 151, long + 1),
    }
    res = {"model": ckpt, "store": store, "episode": episode, "noise_seed": int(noise_seed)}
    res["held_out_data"] = GAME["held_out_data"](store)
    res["sets"] = {}
    for name, (x0, acts) in sets.items():
        row = {"windows": len(x0), "sharpness": mean_sharpness(m, x0), "estimate_sharpness": {}}
        for tau in LEVELS:
            draws = []
            for draw in range(DRAWS):
                x, levels = noised(x0, tau, draw)
                draws.append(mean_sharpness(m, clean_estimate(m.model, x, levels, tau, acts)))
            row["estimate_sharpness"][str(tau)] = sum(draws) / DRAWS
        res["sets"][name] = row
        print(name, json.dumps(row), flush=True)
    res["wall_s"] = time.time() - clock
    GAME["write_json"](out, res)


if __name__ == "__main__":
    main(*sys.argv[1:])
