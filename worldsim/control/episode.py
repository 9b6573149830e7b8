"""One control episode in the real env: reset on a seed, ask the policy, execute, check success.

The episode stops at success, at termination, or after `max_steps` env steps. It keeps the real
frames, the imagined frame each executed action was expected to lead to (blank for policies that
do not imagine), the plans' diagnostics and the executed actions (JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from worldsim.control.tasks import Task


@dataclass
class EpisodeResult:
    """What one episode did and whether it succeeded."""

    task: str
    policy: str
    seed: int
    prompt: str  # what the policy was told ("" for the baselines that read no prompt)
    success: bool
    steps: int  # env steps taken
    progress: float  # push: metres gained by the end; crafter: 1 if the achievement happened
    actions: list[Any]  # executed raw actions, JSON
    plans: list[dict[str, Any]]  # per-plan diagnostics
    frames: np.ndarray  # (steps + 1, H, W, 3) real frames
    imagined: np.ndarray  # (steps + 1, H, W, 3) the frame expected after each action (0: none)
    replans: list[int] = field(default_factory=list)  # steps at which a new plan began
    readings: np.ndarray | None = None  # (steps, A) the IDM's reading of each executed action

    def summary(self) -> dict[str, Any]:
        """The JSON row of this episode (no frames)."""
        keys = ("task", "policy", "seed", "prompt", "success", "steps", "progress", "actions")
        return {**{k: getattr(self, k) for k in keys}, "plans": self.plans}


def _jsonable(action: Any) -> Any:
    return np.asarray(action).tolist()


def run_episode(env, task: Task, policy, seed: int, max_steps: int) -> EpisodeResult:
    """Play `policy` on `task` from `env.reset(seed=seed)` for at most `max_steps` steps."""
    obs, info = env.reset(seed=seed)
    start = task.start(env, info)
    policy.reset(env, seed, start)
    frames, imagined, actions, plans, replans, readings = (
        [obs],
        [np.zeros_like(obs)],
        [],
        [],
        [],
        [],
    )
    progress, done = 0.0, False
    while len(actions) < max_steps and not done:
        plan = policy.act(env, frames, len(actions))
        replans.append(len(actions))
        if plan.info:
            plans.append(plan.info)
        for i, action in enumerate(plan.actions[: max_steps - len(actions)]):
            obs, _, terminated, truncated, info = env.step(action)
            frames.append(obs)
            imagined.append(np.zeros_like(obs) if plan.imagined is None else plan.imagined[i])
            if plan.readings is not None:
                readings.append(plan.readings[i])
            actions.append(_jsonable(action))
            step_progress = task.progress(start, info)
            progress = max(progress, step_progress) if task.family == "crafter" else step_progress
            done = task.reached(progress) or terminated or truncated
            if done:
                break
    return EpisodeResult(
        task=task.name,
        policy=policy.name,
        seed=seed,
        prompt=policy.prompt,
        success=task.reached(progress),
        steps=len(actions),
        progress=progress,
        actions=actions,
        plans=plans,
        frames=np.stack(frames),
        imagined=np.stack(imagined),
        replans=replans,
        readings=np.stack(readings) if readings else None,
    )
