"""How much of a Crafter night's sharpness is the renderer's random noise? Crafter darkens the
view at night and replaces a vignette of it with uniform noise from the world's generator
(crafter/engine.py, `LocalView._light`), which no model can predict from past frames: a model
that renders its expectation is blurred there by construction. Each step is rendered twice, as
the game shows it and with the noise replaced by its mean (79.5), and the collapse rule's
sharpness (evals/long_rollout.py) is compared per 100-frame block (RESULTS.md section 60).

Usage: python experiments/game_world_models/night_noise.py SEEDS > OUT.json
SEEDS: a comma list (e.g. 0,1). The player wanders at random (noop and the four moves) for 1,000
steps with its health, food, drink and energy held full, so that it lives through three nights.
"""

import json
import sys

import crafter
import numpy as np
from crafter import engine
from evaluate import refuse  # this folder's evaluate.py

from evals.long_rollout import EVERY, START, block_means, sharpness

NOISE_MEAN = (32 + 127) / 2  # engine.LocalView._noise draws uniform(32, 127)
FULL = ("health", "food", "drink", "energy")


def mean_noise(self, canvas, amount, stddev):
    """LocalView._noise with the noise replaced by its expectation (no draw from the world)."""
    mask = amount * self._vignette(canvas.shape, stddev)[..., None]
    return (1 - mask) * canvas + mask * NOISE_MEAN


def episode(seed: int, steps: int = 1000) -> dict:
    """Per-block daylight and sharpness of one episode as shown and without the night noise."""
    env, rng = crafter.Env(size=(64, 64), seed=seed), np.random.default_rng(seed)
    shown = [env.reset()]
    quiet, daylight = [shown[0]], [1.0]
    real_noise = engine.LocalView._noise
    for _ in range(steps):
        for k in FULL:
            env._player.inventory[k] = 9
        obs, _, done, _ = env.step(int(rng.integers(0, 5)))
        engine.LocalView._noise = mean_noise  # the same state drawn again, nothing drawn
        try:
            quiet.append(env.render())
        finally:
            engine.LocalView._noise = real_noise
        shown.append(obs)
        daylight.append(env._world.daylight)
        if done:
            break
    curves = {"daylight": np.array(daylight), "sharpness_shown": sharpness(np.array(shown)),
              "sharpness_noise_mean": sharpness(np.array(quiet))}  # fmt: skip
    return {"frames": len(shown), **{k: block_means(v, EVERY, START) for k, v in curves.items()}}


if __name__ == "__main__":
    if len(sys.argv) != 2 or not all(s.isdigit() for s in sys.argv[1].split(",")):
        refuse("usage: night_noise.py SEEDS (a comma list, e.g. 0,1)", "night_noise")
    seeds = [int(s) for s in sys.argv[1].split(",")]
    print(json.dumps({f"seed{s}": episode(s) for s in seeds}, indent=1))
