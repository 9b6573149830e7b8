"""How often true ViZDoom play shows the state failing rollouts settle in (RESULTS section 38): a
flat, still view. For each store, the share of frames and of 100-frame blocks under the long
rollouts' collapse floors (evals/long_rollout.py's `sharpness` and `motion`, per frame and in
the judge's blocks, `block_means`), and the share of frames with no visible change at all.

Usage: python experiments/game_world_models/wall_states.py SHARPNESS_FLOOR MOTION_FLOOR STORE...
The floors are a frozen judgement's `limits` (`sharpness_range`[0], `motion_range`[0]).
"""

import json
import sys

import numpy as np

from evals.long_rollout import block_means, motion, sharpness
from worldsim.data.store import EpisodeStore


def shares(store: EpisodeStore, sharp_floor: float, motion_floor: float) -> dict:
    """The store's frames and blocks under each floor, and its frames with no change at all."""
    sharp, moves, flat_still, block_sharp, block_moves = [], [], [], [], []
    for name in store.names():
        frames = np.asarray(store.load(name).frames)  # (T, H, W, 3) uint8
        s, change = sharpness(frames), motion(frames)
        m = change[1:]
        sharp.append(s), moves.append(m)
        flat_still.append((s[1:] < sharp_floor) & (m < motion_floor))  # frame t and its change
        block_sharp += block_means(s)
        block_moves += block_means(change)
    sharp, moves = np.concatenate(sharp), np.concatenate(moves)
    return {
        "episodes": len(store.names()),
        "frames": int(len(sharp)),
        "sharpness_quantiles_1_5_50": np.percentile(sharp, [1, 5, 50]).round(2).tolist(),
        "frames_under_sharpness_floor": float((sharp < sharp_floor).mean()),
        "frames_under_motion_floor": float((moves < motion_floor).mean()),
        "frames_unchanged": float((moves == 0).mean()),
        "frames_flat_and_still": float(np.concatenate(flat_still).mean()),
        "blocks": len(block_sharp),
        "blocks_under_sharpness_floor": float((np.array(block_sharp) < sharp_floor).mean()),
        "blocks_under_motion_floor": float((np.array(block_moves) < motion_floor).mean()),
    }


def main() -> None:
    sharp_floor, motion_floor, *stores = sys.argv[1:]
    out = {
        "floors": {"sharpness": float(sharp_floor), "motion": float(motion_floor)},
        "stores": {
            s: shares(EpisodeStore(s), float(sharp_floor), float(motion_floor)) for s in stores
        },
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
