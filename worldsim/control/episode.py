"""Control episodes in the real env: reset on a seed, ask the policy, execute, check success.

An episode stops at success, at termination, or after `max_steps` env steps. Episodes of one
task and policy play in lockstep, so that their plans are imagined in one batch. It keeps the real
frames, the imagined frame each executed action was expected to lead to (blank for policies that
do not imagine), the plans' diagnostics and the executed actions (JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from worldsim.control.policies import act_together
from worldsim.control.tasks import Task


@dataclass
class EpisodeResult:
    """What one episode did and whether it succeeded."""

    task: str
    policy: str
    seed: int
    prompt: str  # what the policy was told ("" for the baselines that read no prompt)
    asked: str  # what a user asked: the prompt as typed, or the task's own short prompt
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
        keys = (
            "task",
            "policy",
            "seed",
            "asked",
            "prompt",
            "success",
            "steps",
            "progress",
            "actions",
        )
        return {**{k: getattr(self, k) for k in keys}, "plans": self.plans}


def _jsonable(action: Any) -> Any:
    return np.asarray(action).tolist()


@dataclass
class _Game:
    """One episode in play: its env, policy and what it did so far."""

    env: Any
    policy: Any
    seed: int
    start: dict[str, Any]
    frames: list[np.ndarray]
    imagined: list[np.ndarray]
    actions: list[Any] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    replans: list[int] = field(default_factory=list)
    readings: list[np.ndarray] = field(default_factory=list)
    queue: list[tuple[Any, np.ndarray | None, np.ndarray | None]] = field(default_factory=list)
    progress: float = 0.0
    done: bool = False

    def result(self, task: Task) -> EpisodeResult:
        return EpisodeResult(
            task=task.name,
            policy=self.policy.name,
            seed=self.seed,
            prompt=self.policy.prompt,
            asked=task.episode_prompt(self.env),
            success=task.reached(self.progress),
            steps=len(self.actions),
            progress=self.progress,
            actions=self.actions,
            plans=self.plans,
            frames=np.stack(self.frames),
            imagined=np.stack(self.imagined),
            replans=self.replans,
            readings=np.stack(self.readings) if self.readings else None,
        )


def run_episodes(
    envs: list,
    task: Task,
    policies: list,
    seeds: list[int],
    max_steps: int,
    on_steps: Callable[[int], Any] = lambda n: None,
):
    """Play each policy on `task` from its env's `reset(seed=...)` for at most `max_steps` steps,
    the episodes in lockstep: at each step, the episodes whose plan is spent plan together
    (`act_together`: prompt policies imagine in one batch), then every unfinished episode takes
    one step. Each episode plays as it would alone, up to the rounding of batched kernels.
    `on_steps(n)` hears of n more of the len(seeds) x max_steps steps done (an episode that ends
    early counts its steps left), for a progress bar. -> [EpisodeResult] in `seeds` order."""
    games = []
    for env, policy, seed in zip(envs, policies, seeds, strict=True):
        obs, info = env.reset(seed=seed)
        start = task.start(env, info)
        policy.reset(env, seed, start)
        games.append(_Game(env, policy, seed, start, [obs], [np.zeros_like(obs)]))
    while playing := [g for g in games if not g.done and len(g.actions) < max_steps]:
        planning = [g for g in playing if not g.queue]  # all on one step: plans start together
        for steps in sorted({len(g.actions) for g in planning}):
            group = [g for g in planning if len(g.actions) == steps]
            made = act_together([g.policy for g in group], [g.env for g in group],
                                [g.frames for g in group], steps)  # fmt: skip
            for game, plan in zip(group, made, strict=True):
                game.replans.append(steps)
                if plan.info:
                    game.plans.append(plan.info)
                game.queue = [
                    (action,
                     None if plan.imagined is None else plan.imagined[i],
                     None if plan.readings is None else plan.readings[i])
                    for i, action in enumerate(plan.actions)
                ]  # fmt: skip
        for game in playing:
            action, imagined, reading = game.queue.pop(0)
            obs, _, terminated, truncated, info = game.env.step(action)
            game.frames.append(obs)
            game.imagined.append(np.zeros_like(obs) if imagined is None else imagined)
            if reading is not None:
                game.readings.append(reading)
            game.actions.append(_jsonable(action))
            progress = task.progress(game.start, info)
            game.progress = max(game.progress, progress) if task.family == "crafter" else progress
            game.done = task.reached(game.progress) or terminated or truncated
        on_steps(sum(1 + (max_steps - len(g.actions) if g.done else 0) for g in playing))
    return [game.result(task) for game in games]
