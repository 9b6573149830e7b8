"""Re-simulating a recorded MuJoCo case: the same env config, seed and actions, with edits of the
simulator state just before chosen frames (the ceiling's perturbations, VoE's impossible events).

The MuJoCo scenes are deterministic: a replay without edits reproduces the recorded frames
exactly, so every difference a replay shows comes from its edits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from envs.make import EnvConfig, make_env
from envs.mujoco import SCENARIOS
from envs.mujoco.render import mujoco
from evals.scenarios import Case

Edit = Callable[[object], None]  # edits env.unwrapped (a MujocoSceneEnv) in place


def resimulable(case: Case) -> bool:
    """True for cases of the MuJoCo scenes (Crafter and ViZDoom have no state to edit)."""
    return case.meta.get("env_id") in SCENARIOS


def case_env(case: Case):
    """A fresh env of the case's recorded config (close it after use)."""
    return make_env(EnvConfig(**case.meta["env_config"]))


def replay(env, case: Case, edits: dict[int, Edit] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The case re-simulated in `env`: frames (T, H, W, 3) uint8 and instance maps (T, H, W).

    `edits[t](env.unwrapped)` runs just before the step that renders frame t (t >= 1); MuJoCo's
    derived quantities are recomputed after it.
    """
    base, edits = env.unwrapped, edits or {}
    obs, info = env.reset(seed=int(case.meta["seed"]))
    frames, instance = [obs], [info["truth"].instance]
    for t in range(1, len(case.frames)):
        if t in edits:
            edits[t](base)
            mujoco.mj_forward(base.model, base.data)
        obs, _, _, _, info = env.step(base.action_codec.decode(case.actions[t]))
        frames.append(obs)
        instance.append(info["truth"].instance)
    return np.stack(frames), np.stack(instance)


def object_geom(base, name: str) -> tuple[int, int]:
    """(body id, geom id) of the object called `name` (its body and geom share the name)."""
    return base.model.body(name).id, base.model.geom(name).id
