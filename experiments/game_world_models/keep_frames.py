"""evaluate.py's long rollouts with every frame kept, and a table of the light they show
(RESULTS section 72: where a draw falls asleep and wakes beside its truth).

Usage: python experiments/game_world_models/keep_frames.py EVALUATE_ARGS...
       python experiments/game_world_models/keep_frames.py --table OUT/long_strip.npz FIRST END

The first form runs `evaluate.py EVALUATE_ARGS...` and writes, beside each long_strip.png, its
rows whole (the truth, then its draws; (T, H, W, 3) uint8 each) as long_strip.npz. The second
prints every 8th step in [FIRST, END) of those rows: the mean brightness and the colour spread
(max minus min channel, a sleeper's grey view has little) of the game view, the inventory rows
left out.
"""

import sys

import evaluate  # this folder's
import numpy as np

VIEW_ROWS = 52  # of 64: crafter's local view; the rows below show the inventory
save_strip = evaluate.save_frame_strip  # evaluate's own, still called for the picture


def keep_rows(rows: list, path, every: int) -> None:
    np.savez_compressed(str(path).replace(".png", ".npz"), *[np.asarray(r) for r in rows])
    save_strip(rows, path, every)


def table(npz: str, first: int, end: int) -> None:
    with np.load(npz) as z:
        rows = [z[k][:, :VIEW_ROWS].astype(np.float32) for k in z.files]  # (T, h, W, 3) each
    print("step | " + " | ".join(["truth"] + [f"draw {i}" for i in range(1, len(rows))]))
    for t in range(first, end, 8):
        cells = [f"{r[t].mean():.0f} / {(r[t].max(-1) - r[t].min(-1)).mean():.0f}" for r in rows]
        print(f"{t} | " + " | ".join(cells))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"] and len(sys.argv) == 5:
        table(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] != "--table":
        evaluate.save_frame_strip = keep_rows
        evaluate.main(*sys.argv[1:])
    else:
        evaluate.refuse(__doc__.split("\n\n")[1], "keep_frames")
