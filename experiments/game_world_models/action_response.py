"""Does a long ViZDoom rollout still answer its actions once it has settled on a wall?

The failing 1,000-frame rollouts of every ViZDoom file end on a flat wall (RESULTS 19-35). This
rolls a file out from a frozen truth's first frame with the true actions for AT latent frames (the
same noise as evaluate.py's long rollout at NOISE_SEED, so the same frames), then continues 8
latent frames from that context with four action streams: the true ones, and turn left, turn
right, forward held throughout. It does the same from the truth's own latents at that point. A
model that answers its actions gives branches that differ; one stuck on an attractor does not.

Usage: python experiments/game_world_models/action_response.py DOOM_LONG CKPT TRUTH_SEED NOISE_SEED
       AT [DEVICE [SAMPLING]]
DOOM_LONG is evaluate.py's frozen doom_long store; SAMPLING as in evaluate.py (its context level).
Prints JSON: per context (model's, truth's) and action stream, the mean absolute pixel difference
from the true-action branch and the branch's own motion (mean absolute change a frame), in [0, 255].
"""

import json
import runpy
import sys
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch

from envs.doom.env import ACTION_NAMES
from evals.latent_rollout import encode_latent_episode, rollout
from evals.model import from_model_frames
from worldsim.data.store import EpisodeStore

GAME = runpy.run_path(str(Path(__file__).with_name("evaluate.py")))
BRANCH = 8  # latent frames after the context (32 video frames)
HELD = ("turn_left", "turn_right", "forward")  # the constant streams beside the true one


def held_actions(module, name: str, latent_frames: int) -> torch.Tensor:
    """`name` pressed at every pixel frame -> (1, latent_frames, A') as the model reads actions."""
    tf = module.latent_info.time_factor
    one_hot = torch.zeros(1, 1 + tf * (latent_frames - 1), len(ACTION_NAMES))  # (1, T, A)
    one_hot[..., ACTION_NAMES.index(name)] = 1.0
    return module.latent_actions(one_hot, latent_frames)


def branches(module, context, true_actions, noise_seed: int) -> dict[str, np.ndarray]:
    """Context (1, Tc, c, h, w) -> each action stream's BRANCH new latent frames, decoded."""
    tc = context.shape[1]
    streams = {"true": true_actions[None, : tc + BRANCH]}
    streams |= {name: held_actions(module, name, tc + BRANCH) for name in HELD}
    out = {}
    for name, actions in streams.items():
        actions = torch.cat([true_actions[None, :tc], actions[:, tc:]], dim=1)  # same past
        z = rollout(module, context, actions, [""], BRANCH, seed=noise_seed, first_step=0)[:, tc:]
        out[name] = from_model_frames(module.decode(z).cpu())[0].astype(np.float32)  # (T, H, W, 3)
    return out


def response(frames: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Each stream's difference from the true-action branch, and its own motion."""
    return {
        name: {
            "from_true": float(np.abs(f - frames["true"]).mean()),
            "motion": float(np.abs(np.diff(f, axis=0)).mean()),
        }
        for name, f in frames.items()
    }


def refuse(message: str) -> NoReturn:
    """Bad input: one line naming it, exit code 2."""
    print(f"action_response: {message}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    if len(sys.argv) < 6:
        refuse(
            "give DOOM_LONG CKPT TRUTH_SEED NOISE_SEED AT [DEVICE [SAMPLING]] (see its docstring)"
        )
    store_root, ckpt, *numbers = sys.argv[1:6]
    if not all(n.isdigit() for n in numbers):
        refuse(f"TRUTH_SEED, NOISE_SEED and AT are whole numbers; got {' '.join(numbers)}")
    truth_seed, noise_seed, at = map(int, numbers)
    device = sys.argv[6] if len(sys.argv) > 6 else "cpu"
    m = GAME["load_model"](ckpt, device, sys.argv[7] if len(sys.argv) > 7 else None)
    store = EpisodeStore(store_root)
    seeded = (e for e in map(store.load, store.names()) if int(e.meta["seed"]) == truth_seed)
    episode = next(seeded, None)
    if episode is None:
        refuse(f"no episode of seed {truth_seed} in {store_root}; give a seed of that store")
    lat = encode_latent_episode(m, episode, text=False)
    window = m.sample_cfg.window
    with torch.no_grad():
        own = rollout(
            m, lat.latents[None, :1], lat.actions[None], [""], at, seed=noise_seed, first_step=0
        )
        contexts = {
            "model": own[:, -(window - 1) :],
            "truth": lat.latents[None, at + 2 - window : at + 1],
        }
        shift = at + 2 - window  # the contexts' first latent frame: actions from there on
        result = {
            name: response(branches(m, ctx, lat.actions[shift:], noise_seed + at))
            for name, ctx in contexts.items()
        }
    print(
        json.dumps(
            {
                "ckpt": ckpt,
                "truth_seed": truth_seed,
                "noise_seed": noise_seed,
                "at_latent_frame": at,
                "sampling": GAME["sampling_record"](m),
                "response": result,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
