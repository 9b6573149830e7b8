"""Issue 15's teacher-forced bars under other sampling settings: each VARIANT is a comma-separated
list of the checkpoint's sampling overrides (worldsim.training.world_model_config.SampleConfig),
scored on the same windows and noise as teacher_forced.py (true and shuffled actions, changed
windows), after the checkpoint's own sampling. Beside PSNR, the sharpness of the new frames (the
truth's too): PSNR rewards a blurred mean, so a variant that gains PSNR by blurring shows here.
Choose a variant on one held-out set and report it on another (RESULTS.md section 18).

Usage: python experiments/game_world_models/sampling_sweep.py STORE WINDOWS CKPT DEVICE \
           [VARIANT ...] [strip=PNG] [own=false] > OUT
e.g.   ... held/crafter 256 pretrained:crafter cuda sampler.steps=1 guidance.action_scale=2 \
           guidance.action_scale=2,sampler.steps=4 strip=steps.png
strip=PNG: the 4 new frames of 6 changed windows, one row for the truth, then one per variant.
own=false: skip the checkpoint's own sampling (teacher_forced.py has scored it; on a CPU each
variant costs minutes).
"""

import json
import sys
import time

import numpy as np
from evaluate import (  # this folder's evaluate.py
    episodes,
    held_out_data,
    refuse,
    window_starts,
)

from evals.latent_rollout import (
    changed_window_summary,
    encode_latent_episode,
    teacher_forced,
    window_frames,
)
from evals.long_rollout import sharpness
from evals.model import from_model_frames
from worldsim.config import ConfigError
from worldsim.training.world_model import load_world_model
from worldsim.training.world_model_config import with_sampling
from worldsim.video import save_frame_strip

STRIP_WINDOWS = 6
NAME = "sampling_sweep"  # refusals' prefix


def mean_sharpness(frames: np.ndarray) -> float:
    """(N, T, H, W, 3) uint8 -> mean sharpness of every frame."""
    return float(np.mean([sharpness(v).mean() for v in frames]))


def main(store, windows, ckpt, device, *args):
    strip = [a.split("=", 1)[1] for a in args if a.startswith("strip=")]
    own = [a for a in args if a.startswith("own=")]
    variants = [a for a in args if not a.startswith(("strip=", "own="))]
    if own not in ([], ["own=false"]) or (own and not variants):
        refuse(f"{' '.join(own)}: the only form is own=false, beside at least one VARIANT", NAME)
    clock, m = time.time(), load_world_model(ckpt, device)
    shipped, length = m.sample_cfg, m.sample_cfg.window  # teacher_forced.py's window: the file's
    # "": the checkpoint's own sampling
    try:
        samplings = {v: with_sampling(shipped, v) for v in ([] if own else [""]) + variants}
    except ConfigError as err:  # a misspelt or out-of-range VARIANT, before any episode is read
        refuse(str(err), NAME)
    for variant, sampling in samplings.items():  # all on the same windows: none may change them
        if sampling.window != length:
            refuse(f"{variant}: the variants share the file's window ({length}); run "
                   "teacher_forced.py on a file sampling at another", NAME)  # fmt: skip
    eps = [encode_latent_episode(m, e) for e in episodes(store)]
    starts = window_starts(eps, 2, int(windows), length)  # teacher_forced.py's windows
    tf = m.latent_info.time_factor
    truth = from_model_frames(window_frames(eps, starts, length, tf)[:, 1:])  # (N, tf, H, W, 3)
    results, rows, shown = {}, [], None
    for variant, sampling in samplings.items():
        m.sample_cfg = sampling
        tick = time.time()
        true = teacher_forced(m, eps, starts, length, keep=True)
        frames = from_model_frames(true.pop("frames"))  # (N, tf, H, W, 3): the model's new frames
        shuffled = teacher_forced(m, eps, starts, length, shuffle=True)
        summary = changed_window_summary(true, shuffled)
        changed = true["changed"]
        summary["sharpness"] = mean_sharpness(frames[changed])
        results[variant or "checkpoint"] = {**summary, "wall_s": time.time() - tick}
        if shown is None:  # the same windows in every row: evenly over the changed ones
            truth_sharpness = mean_sharpness(truth[changed])  # `changed` reads the truth alone
            picks = np.flatnonzero(changed)
            shown = picks[np.linspace(0, len(picks) - 1, STRIP_WINDOWS).astype(int)]
            rows.append(np.concatenate(list(truth[shown]), axis=0))
        rows.append(np.concatenate(list(frames[shown]), axis=0))  # (6 tf, H, W, 3)
        print(f"{variant or 'checkpoint'}: model - copy-last "
              f"{summary['model'] - summary['copy_last']:+.2f} dB, beats it in "
              f"{summary['beats_copy_last_pct']:.1f}%, sharpness {summary['sharpness']:.2f} "
              f"(truth {truth_sharpness:.2f})", file=sys.stderr)  # fmt: skip
    if strip:
        save_frame_strip(rows, strip[0], every=1)
    out = {"ckpt": ckpt, "checkpoint_sampling": str(shipped), "variants": results,
           "truth_sharpness": truth_sharpness,
           "held_out_data": held_out_data(store), "wall_s": time.time() - clock}  # fmt: skip
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
