"""How much of Crafter's day a store's episodes show: the share of frames at each hour (step mod
the 300-step day) and past the first day, and the share of 8-latent-frame training windows that
start at chosen hours, before and after `data.oversample_steps` (RESULTS section 68).

Usage: python experiments/game_world_models/day_coverage.py STORE[:CAP] ...
Each STORE is an episode store of Crafter; CAP (steps) reads its episodes as if recorded with
that step cap (the same seeds under a lower `steps=`: a recording's episodes do not depend on
the cap until it ends them). JSON on stdout.
"""

import json
import sys
from pathlib import Path

import numpy as np
from evaluate import refuse  # this folder's evaluate.py

from envs.crafter.captions import DAY_STEPS, daylight
from worldsim.data.latent_datamodule import drawn_times
from worldsim.data.store import EpisodeStore

HOURS = {"deep_night": (185, 235), "dawn": (235, 300)}  # daylight under 0.1; then rising to 0.8
WINDOW, TIME_FACTOR = 8, 4  # latent frames per training window, pixel frames per latent frame
OVERSAMPLE = ((185, 235), (200, 280))  # candidate data.oversample_steps=[300, first, end]
WEIGHT = 4  # data.oversample_weight


def frame_shares(lengths: np.ndarray) -> dict:
    """Shares of all frames at each of HOURS, past the first day, and the brightest light seen
    after the first night's darkest step (daylight > 0.5 past step 210: the night ended)."""
    steps = np.concatenate([np.arange(n) for n in lengths])  # (frames,)
    hour = steps % DAY_STEPS
    out = {f"{k}_{a}_{b}": float(((hour >= a) & (hour < b)).mean()) for k, (a, b) in HOURS.items()}
    out["past_first_day"] = float((steps >= DAY_STEPS).mean())
    out["episodes_past_night"] = float((lengths > 280).mean())  # daylight 0.59 at step 280
    out["max_light_after_night"] = float(daylight(np.arange(210, lengths.max())).max(initial=0.0))
    return out


def window_shares(lengths: np.ndarray) -> dict:
    """Per OVERSAMPLE range: the share of training windows whose first latent frame ends in it,
    listed once and drawn WEIGHT times."""
    starts = np.concatenate([TIME_FACTOR * np.arange((n - 1) // TIME_FACTOR + 2 - WINDOW)
                             for n in lengths if (n - 1) // TIME_FACTOR + 1 >= WINDOW])  # fmt: skip
    out = {"windows": len(starts)}
    for a, b in OVERSAMPLE:  # as training lists them (`drawn_times`, data.oversample_steps)
        drawn = np.array([drawn_times(int(s), [DAY_STEPS, a, b], WEIGHT) for s in starts])
        inside = drawn > 1
        out[f"windows_{a}_{b}"] = float(inside.mean())
        out[f"windows_{a}_{b}_drawn_x{WEIGHT}"] = float((drawn * inside).sum() / drawn.sum())
    return out


def main(specs: list[str]) -> None:
    if not specs:
        refuse(__doc__.split("\n\n")[1], "day_coverage")
    res = {}
    for spec in specs:
        path, _, cap = spec.partition(":")
        if not (Path(path) / "manifest.json").is_file() or (cap and not cap.isdigit()):
            refuse(f"{spec} is not STORE[:CAP] (an episode store, a step cap)", "day_coverage")
        store = EpisodeStore(path)
        lengths = np.array([store.entry(n).length for n in store.names()])
        if cap:
            lengths = np.minimum(lengths, int(cap))
        res[spec] = {
            "episodes": len(lengths),
            "frames": int(lengths.sum()),
            "mean_length": float(lengths.mean()),
            **frame_shares(lengths),
            **window_shares(lengths),
        }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
