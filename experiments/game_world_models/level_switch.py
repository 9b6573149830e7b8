"""Where along the sampler does a distribution-matched student lose the teacher's one-step
accuracy? The student's file with the teacher's DiT taking every sampler step at or below level
BELOW (RESULTS.md section 60): a probe run on the CPU, never a file that ships (it would hold two
DiTs).

Usage: python experiments/game_world_models/level_switch.py tf STORE WINDOWS STUDENT TEACHER BELOW
       python experiments/game_world_models/level_switch.py long DATA OUT STUDENT TEACHER BELOW
`tf`: teacher_forced.py's bars on STORE (JSON on stdout). `long`: evaluate.py's 1,000-frame
rollouts on DATA's crafter_long at noise seeds 0, 1 and 2 (4 truths on a validation store), in OUT.
Renoise at 4 steps and shift 2 steps from levels 1, 0.857, 0.667 and 0.4: BELOW 0.4 hands the
teacher the last step, 0.667 the last two; the file's sampling and latent statistics stay the
student's.
"""

import json
import sys
import time
from pathlib import Path

import torch
from evaluate import episodes, held_out_data, long_runs, refuse, save  # this folder's evaluate.py
from teacher_forced import bars  # this folder's teacher_forced.py

from worldsim.config import ConfigError
from worldsim.training.world_model import load_world_model


class LevelSwitch(torch.nn.Module):
    """`high` denoises generated frames above level `below`, `low` at or below it (context
    frames sit at level 0, so the batch's largest level is the generated frames')."""

    def __init__(self, high: torch.nn.Module, low: torch.nn.Module, below: float):
        super().__init__()
        self.high, self.low, self.below = high, low, below

    def forward(self, x, levels, *args, **kwargs):
        net = self.low if float(levels.max()) <= self.below + 1e-6 else self.high
        return net(x, levels, *args, **kwargs)

    def __getattr__(self, name):  # the DiT's attributes (config, action width) are the student's
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("high"), name)


def switched(student: str, teacher: str, below: float):
    """The student's WorldModel with the teacher's DiT below `below`."""
    m = load_world_model(student, "cpu")
    m.model = LevelSwitch(m.model, load_world_model(teacher, "cpu").model, below)
    return m


def main(mode, data, arg, student, teacher, below):
    try:
        below = float(below)
    except ValueError:
        refuse(f"BELOW {below!r} is not a noise level (e.g. 0.4)", "level_switch")
    if mode == "tf" and not arg.isdigit():
        refuse(f"WINDOWS {arg!r} is not a count of windows (e.g. 256)", "level_switch")
    clock, m = time.time(), switched(student, teacher, below)
    if mode == "tf":
        res = bars(m, data, int(arg))
        print(json.dumps({**res, "below": below, "wall_s": time.time() - clock}, indent=1))
        return
    out, store = Path(arg), f"{data}/crafter_long"
    res = {"held_out_data": held_out_data(store), "below": below, "noise_seeds": [0, 1, 2]}
    out.mkdir(parents=True, exist_ok=True)
    long_runs(m, {"crafter_long": episodes(store)}, out, ["crafter"],
              lambda so_far: save(out, res | so_far, clock), [0, 1, 2], [], 4)  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[1] not in ("tf", "long"):
        refuse("usage: level_switch.py tf|long STORE|DATA WINDOWS|OUT STUDENT TEACHER BELOW",
               "level_switch")  # fmt: skip
    try:
        main(*sys.argv[1:])
    except (ConfigError, FileNotFoundError) as err:  # a missing or foreign model file
        refuse(str(err), "level_switch")
