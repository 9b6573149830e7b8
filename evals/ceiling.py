"""Physical-variance ceiling: the truth re-simulated with perturbations at the simulator's own
noise scale, and metrics normalised to the spread of the truth against itself.

Each run edits the state at the last context frame (before the step to frame Tc), so the context a
model sees is unchanged and only the unobservable sub-pixel state differs: every free or slide
joint moves by U(-1 mm, 1 mm) per axis (a body in contact keeps its height), every velocity
component is scaled by 1 + U(-1 %, 1 %).
A metric's ceiling on a case is its mean over the runs scored against the unperturbed truth.

`normalised` maps a model's score to the ceiling: 100 % is a model as close to the truth as the
truth's own re-simulations (the simulator's chaos); it is n/a where the ceiling has no spread.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from envs.mujoco.render import mujoco
from evals.resim import case_env, replay, resimulable
from evals.scenarios import Case

PERTURBED_RUNS = 8  # re-simulations per case
POSITION_NOISE = 1e-3  # metres, half-width of the uniform position perturbation per axis
VELOCITY_NOISE = 0.01  # relative, half-width of the uniform velocity scaling per component

# The value of each normalised metric at a perfect prediction (the truth itself).
PERFECT: dict[str, float] = {
    "permanence.iou": 1.0,
    "permanence.reappearance_iou": 1.0,
    "permanence.colour_match": 1.0,
    "permanence.disappearance_rate": 0.0,
    "permanence.appearance_rate": 0.0,
    "physics.physics_score": 1.0,
    "physics.track_score": 1.0,
    "physics.track_error_px": 0.0,
    "physics.gravity_rel_error": 0.0,
    "physics.bounce_timing_error": 0.0,
    "physics.bounce_f1": 1.0,
    "physics.spatial_iou": 1.0,
    "physics.spatiotemporal_iou": 1.0,
}


def perturb(base, rng: np.random.Generator) -> None:
    """Move every free and slide joint by +-POSITION_NOISE and scale its velocities by
    1 +- VELOCITY_NOISE, in place (base: a MujocoSceneEnv).

    A body touching something keeps its height: pushing it 1 mm into its support would release
    the soft contact's spring energy (it rests about 0.5 mm deep) and make a resting cylinder rock,
    a contact-model artefact rather than chaos."""
    m, d = base.model, base.data
    touching = set(d.contact.geom[: d.ncon].ravel().tolist())
    for j in range(m.njnt):
        qpos, dof = m.jnt_qposadr[j], m.jnt_dofadr[j]
        if (
            m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE
        ):  # x, y, z (not the quaternion); 6 velocities
            n_pos, n_vel = 2 if m.body_geomadr[m.jnt_bodyid[j]] in touching else 3, 6
        else:
            n_pos, n_vel = 1, 1
        d.qpos[qpos : qpos + n_pos] += rng.uniform(-POSITION_NOISE, POSITION_NOISE, n_pos)
        d.qvel[dof : dof + n_vel] *= 1 + rng.uniform(-VELOCITY_NOISE, VELOCITY_NOISE, n_vel)


def perturbed_futures(case: Case, runs: int = PERTURBED_RUNS, seed: int = 0) -> list[np.ndarray]:
    """`runs` perturbed re-simulations of the case's horizon, each (horizon, H, W, 3) uint8; []
    for envs that cannot be re-simulated from a perturbed state (Crafter, ViZDoom)."""
    if not resimulable(case):
        return []
    env = case_env(case)
    try:
        out = []
        for run in range(runs):
            rng = np.random.default_rng([seed, int(case.meta["seed"]), run])
            frames, _ = replay(env, case, {case.context: partial(perturb, rng=rng)})
            out.append(frames[case.context :])
        return out
    finally:
        env.close()


def normalised(metric: str, value: float, ceiling: float) -> float:
    """min(1, gap(ceiling) / gap(value)) with gap(x) = |x - PERFECT[metric]|: 1 (100 %) when the
    model is at least as close to the truth as the truth's own perturbed re-simulations.

    NaN (n/a) when the metric has no perfect value here, either input is NaN, or the ceiling has
    no spread (gap 0: the perturbations change nothing this metric sees).
    """
    if metric not in PERFECT or not (np.isfinite(value) and np.isfinite(ceiling)):
        return float("nan")
    spread, gap = abs(ceiling - PERFECT[metric]), abs(value - PERFECT[metric])
    if spread == 0:
        return float("nan")
    return 1.0 if gap <= spread else spread / gap
