"""evaluate.py's long rollouts with every frame kept, and a table of the light they show
(RESULTS section 72: where a draw falls asleep and wakes beside its truth).

Usage: python experiments/game_world_models/keep_frames.py EVALUATE_ARGS...
       python experiments/game_world_models/keep_frames.py --table OUT/long_strip.npz FIRST END
       python experiments/game_world_models/keep_frames.py --wakes OUT/long_strip.npz [DRAWS]

The first form runs `evaluate.py EVALUATE_ARGS...` and writes, beside each long_strip.png, its
rows whole (the truth, then its draws; (T, H, W, 3) uint8 each) as long_strip.npz. The second
prints every 8th step in [FIRST, END) of those rows: the mean brightness and the colour spread
(max minus min channel, a sleeper's grey view has little) of the game view, the inventory rows
left out. The third lists each sleep of each truth that ends inside it (a sleeper's view,
envs/crafter/sleep_view.py, for MIN_SLEEP frames or more) and, for each of its DRAWS draws (3
unless given: the rows are each truth, then its draws, truth after truth), how many frames after
the truth its sleep began and ended ("none": no sleep of the draw overlaps it).
"""

import sys

import evaluate  # this folder's
import numpy as np
from sleep_count import LONG, sleeps  # this folder's

from envs.crafter.sleep_view import VIEW_ROWS, colour_spread, sleeper_view

MIN_SLEEP = 8  # frames: a shorter dip of a draw's colour is no sleep
save_strip = evaluate.save_frame_strip  # evaluate's own, still called for the picture


def keep_rows(rows: list, path, every: int) -> None:
    np.savez_compressed(str(path).replace(".png", ".npz"), *[np.asarray(r) for r in rows])
    save_strip(rows, path, every)


def table(npz: str, first: int, end: int) -> None:
    with np.load(npz) as z:
        rows = [z[k] for k in z.files]  # (T, H, W, 3) uint8 each
    print("step | " + " | ".join(["truth"] + [f"draw {i}" for i in range(1, len(rows))]))
    light = [r[:, :VIEW_ROWS].mean(axis=(1, 2, 3)) for r in rows]  # (T,) each: the view's
    spreads = [colour_spread(r) for r in rows]  # (T,) each
    for t in range(first, end, 8):
        cells = [f"{v[t]:.0f} / {c[t]:.0f}" for v, c in zip(light, spreads, strict=True)]
        print(f"{t} | " + " | ".join(cells))


def long_sleeps(frames: np.ndarray) -> list[tuple[int, int]]:
    """(T, H, W, 3) -> [(first, end)] of each run of MIN_SLEEP or more sleeper's-view frames."""
    return [(a, b) for a, b in sleeps(sleeper_view(frames)) if b - a >= MIN_SLEEP]


def night_sleeps(frames: np.ndarray, after: int = 0) -> list[tuple[int, int]]:
    """(T, H, W, 3) -> [(first, end)] of each sleep of LONG frames or more (the scripted policy's,
    not a nap) whose wake-up, frame `end`, and the `after` frames past it lie in the episode."""
    return [(a, b) for a, b in long_sleeps(frames) if b - a >= LONG and b + after < len(frames)]


def wakes(npz: str, draws: int = 3) -> None:
    with np.load(npz) as z:
        rows = [z[k] for k in z.files]  # (T, H, W, 3) uint8 each
    heads = [f"draw {i}: began / ended" for i in range(1, draws + 1)]
    print("truth | its sleep | " + " | ".join(heads))
    for first in range(0, len(rows), 1 + draws):
        truth, runs = rows[first], [long_sleeps(d) for d in rows[first + 1 : first + 1 + draws]]
        for a, b in long_sleeps(truth):
            if b >= len(truth):
                continue  # the episode ends asleep: no wake-up to time
            cells = []
            for own in runs:
                near = [(c, d) for c, d in own if c < b and d > a]  # overlapping the truth's
                cells.append(f"{near[0][0] - a:+d} / {near[-1][1] - b:+d}" if near else "none")
            print(f"{first // (1 + draws) + 1} | {a}-{b} | " + " | ".join(cells))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"] and len(sys.argv) == 5:
        table(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1:2] == ["--wakes"] and len(sys.argv) in (3, 4):
        wakes(sys.argv[2], *map(int, sys.argv[3:]))
    elif len(sys.argv) > 1 and sys.argv[1] not in ("--table", "--wakes"):
        evaluate.save_frame_strip = keep_rows
        evaluate.main(*sys.argv[1:])
    else:
        evaluate.refuse(__doc__.split("\n\n")[1], "keep_frames")
