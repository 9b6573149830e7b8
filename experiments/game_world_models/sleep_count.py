"""How much of a Crafter store's footage shows the player asleep (RESULTS section 71): each
episode replayed from its seed under its recorded actions (every frame checked against the
store's), reading the env's `sleeping`. Crafter draws a sleeper's view dark at any hour, and
its truth arrays do not say who sleeps.

Usage: python experiments/game_world_models/sleep_count.py STORE [SEED ...]
The episodes of the given seeds (all when none), one JSON line each, then the store's totals.
Each sleep that ends inside its episode is also listed as [its length, the steps from the last
`sleep` pressed to the wake-up] (RESULTS section 73: what `model.action_ages` can tell a DiT).
"""

import json
import sys

import crafter
import numpy as np
from evaluate import refuse  # this folder's evaluate.py

from envs.make import EnvConfig, make_env
from worldsim.data.store import EpisodeStore

LONG = 80  # frames: a sleep this long is the scripted policy's (energy low), not a random nap
SLEEP = list(crafter.constants.actions).index("sleep")  # its index in crafter's action list


def sleeps(asleep: np.ndarray) -> list[tuple[int, int]]:
    """(T,) bool -> [(first, end)] of each run of sleeping frames."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], asleep.astype(int), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def wakes(runs: list[tuple[int, int]], pressed: np.ndarray, frames: int) -> list[list[int]]:
    """[length, steps from the last `sleep` pressed to the wake-up] of each sleep in `runs` that
    ends before `frames`; `pressed` (T,) bool: `sleep` taken, recorded as frame t's action."""
    press_at = np.flatnonzero(pressed)
    return [[b - a, int(b - press_at[press_at <= b].max())] for a, b in runs if b < frames]


def replay(episode) -> np.ndarray:
    """(T,) bool: the player asleep at each frame of `episode`, re-run from its seed."""
    env = make_env(EnvConfig(**episode.meta["env_config"]))
    env.reset(seed=episode.meta["seed"])
    asleep = [env.unwrapped.sleeping]
    for t, action in enumerate(episode.raw_actions[1:], 1):
        obs = env.step(action)[0]
        if not np.array_equal(obs, episode.frames[t]):
            refuse(f"seed {episode.meta['seed']} frame {t} differs on replay", "sleep_count")
        asleep.append(env.unwrapped.sleeping)
    return np.array(asleep)


def main(root: str, *seeds: str) -> None:
    try:
        store = EpisodeStore(root)
    except (FileNotFoundError, ValueError) as err:
        refuse(str(err), "sleep_count")
    frames = asleep_total = long_total = 0
    for name in store.names():
        entry = store.entry(name)
        if seeds and str(entry.seed) not in seeds:
            continue
        episode = store.load(name)
        asleep = replay(episode)
        runs = sleeps(asleep)
        pressed = np.array(episode.raw_actions) == SLEEP
        long = [(a, b) for a, b in runs if b - a >= LONG]
        frames, asleep_total = frames + len(asleep), asleep_total + int(asleep.sum())
        long_total += sum(b - a for a, b in long)
        row = {"seed": entry.seed, "frames": len(asleep), "asleep": int(asleep.sum())}
        row |= {"long_sleeps": long, "wakes": wakes(runs, pressed, len(asleep))}
        print(json.dumps(row), flush=True)
    shares = {
        "asleep_share": asleep_total / frames,
        f"in_sleeps_of_{LONG}_share": long_total / frames,
    }
    print(json.dumps({"store": root, "frames": frames, **shares}))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        refuse(__doc__.split("\n\n")[1], "sleep_count")
    main(*sys.argv[1:])
