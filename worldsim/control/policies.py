"""Policies of the control harness: prompt control (imagine, read actions, act) and baselines.

Every policy returns a `Plan`: the raw env actions to execute next, and for prompt control the
imagined frame expected after each of them (what the side-by-side video shows) with the IDM's
readings (what the diagnostics count). Prompt control is receding-horizon: it executes the first
`execute` actions of a plan, then imagines again from the new real frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from worldsim.control.imagine import Imagined, Imaginer
from worldsim.control.tasks import Task

SELECT = ("first", "consensus")


def plan_seed(episode_seed: int, step: int) -> int:
    """The seed of the plan made at env step `step` of the episode played on `episode_seed`."""
    return episode_seed * 100003 + step


@dataclass
class Plan:
    """What a policy decided at one step."""

    actions: list[Any]  # raw env actions, executed in order
    imagined: np.ndarray | None = None  # (len(actions), H, W, 3) frame expected after each
    readings: np.ndarray | None = None  # (len(actions), A) the IDM's reading of each action
    info: dict[str, Any] = field(default_factory=dict)  # per-plan diagnostics (JSON)


class RandomPolicy:
    """Uniform actions from the env's action space (seeded at reset)."""

    name, prompt = "random", ""

    def reset(self, env, seed: int, start: dict[str, Any]) -> None:
        env.action_space.seed(seed)

    def act(self, env, frames: list[np.ndarray], step: int) -> Plan:
        return Plan([env.action_space.sample()])


class ScriptedPolicy:
    """The env's scripted planner of the task from exact state: the ceiling (Crafter's BFS
    planner; for Push, `push_oracle`)."""

    name, prompt = "scripted", ""

    def __init__(self, task: Task):
        self.task = task

    def act(self, env, frames: list[np.ndarray], step: int) -> Plan:
        if self.task.family == "push":
            return Plan([push_oracle(env, self.start)])
        return Plan([env.unwrapped.scripted_action()])

    def reset(self, env, seed: int, start: dict[str, Any]) -> None:
        self.start = start


PUSH_BEHIND_M = 0.3  # the oracle lines up this far behind the object before pushing
PUSH_ALIGNED_M = 0.08  # off the push line by less than this counts as lined up


def push_oracle(env, start: dict[str, Any]) -> np.ndarray:
    """Continuous command (right, forward) that goes behind the named object, then pushes it along
    the task's axis (from exact positions)."""
    from envs.mujoco.scenarios import floor_command  # imports mujoco: push tasks only

    base = env.unwrapped
    agent = base.data.xpos[base._body_ids[-1]][:2]
    obj = base.data.xpos[base._body_ids[start["object"]]][:2]
    axis = start["axis"][:2]
    behind = obj - PUSH_BEHIND_M * axis
    off_line = (agent - obj) - ((agent - obj) @ axis) * axis
    lined_up = np.linalg.norm(off_line) < PUSH_ALIGNED_M and (obj - agent) @ axis > 0
    goal = obj + axis if lined_up else behind
    return full_command(floor_command(goal - agent, base.pose))


def full_command(cmd: np.ndarray) -> np.ndarray:
    """A continuous command in [-1, 1]^A scaled so its largest axis is at full command: the
    direction kept, the speed the most the action space allows."""
    return np.clip(cmd / max(np.abs(cmd).max(), 1e-6), -1, 1).astype(np.float32)


class PromptPolicy:
    """Imagine futures from the prompt, read their actions with the IDM, execute the first few.

    select="first": one future; "consensus": of N futures, the one whose first `execute` IDM
    actions agree most with the others' (the medoid), a cheap guard against a sample that drifts.
    full_speed: continuous actions are executed at full command in the direction read.
    """

    def __init__(
        self,
        name: str,
        imaginer: Imaginer,
        idm,
        prompt_of: Callable[[Any, int], str],
        execute: int,
        select: str,
        full_speed: bool = False,
    ):
        if select not in SELECT or execute < 1:
            raise ValueError(f"select={select!r}, execute={execute}: choose {SELECT}, execute >= 1")
        self.name, self.imaginer, self.idm, self.prompt_of = name, imaginer, idm, prompt_of
        self.execute, self.select, self.full_speed = execute, select, full_speed
        self.seed, self.prompt = 0, ""

    def reset(self, env, seed: int, start: dict[str, Any]) -> None:
        """A new episode: its seed and its prompt (`prompt_of(env, seed)`, the env after reset)."""
        self.seed, self.prompt = seed, self.prompt_of(env, seed)

    def act(self, env, frames: list[np.ndarray], step: int) -> Plan:
        return self.act_many([self], [env], [frames], step)[0]

    @staticmethod
    def act_many(policies: list, envs: list, frames: list, step: int) -> list[Plan]:
        """`act` of episodes in lockstep, their futures imagined in one batch (`act_together`)."""
        seeds = [plan_seed(p.seed, step) for p in policies]
        prompts = [p.prompt for p in policies]
        futures = policies[0].imaginer.imagine_many(frames, prompts, seeds)
        return [p.read(env, f, step) for p, env, f in zip(policies, envs, futures, strict=True)]

    def read(self, env, imagined: Imagined, step: int) -> Plan:
        """The plan of the futures imagined at `step`: the IDM's actions of the chosen one."""
        codec = env.unwrapped.action_codec
        c = imagined.context
        readings = np.stack([self.idm.read_actions(v)[c - 1 :] for v in imagined.video])  # (N,M,A)
        raw = [[codec.decode(r) for r in plan[: self.execute]] for plan in readings]
        chosen = 0
        if self.select == "consensus":
            chosen = consensus(np.array([[codec.encode(a) for a in p] for p in raw]))
        n = len(raw[chosen])
        actions = [full_command(a) for a in raw[chosen]] if self.full_speed else raw[chosen]
        video = imagined.video[chosen, c - 1 : c + n].astype(np.float32)  # (1 + n, H, W, 3)
        info = {
            "step": step,
            "futures": len(raw),
            "chosen": int(chosen),
            "read": [np.asarray(a).tolist() for a in raw[chosen]],
            "imagined_change": float(np.abs(np.diff(video, axis=0)).mean()),
        }
        return Plan(actions, imagined.video[chosen, c : c + n], readings[chosen, :n], info)


def act_together(
    policies: list, envs: list, frames: list[list[np.ndarray]], step: int
) -> list[Plan]:
    """The plans of episodes in lockstep at `step`: policies of one kind that imagine with one
    model and config (`same_imagination`) plan in one batch (`act_many`: each episode with its own
    prompt and seeded noise, as alone); any others plan episode by episode."""
    kind = type(policies[0])
    if len(policies) > 1 and hasattr(kind, "act_many") and same_imagination(policies):
        return kind.act_many(policies, envs, frames, step)
    return [p.act(env, f, step) for p, env, f in zip(policies, envs, frames, strict=True)]


def same_imagination(policies: list) -> bool:
    """Whether the policies are of one kind, imagining with one world model and one config."""
    first = policies[0]
    return all(
        type(p) is type(first)
        and p.imaginer.module is first.imaginer.module
        and p.imaginer.cfg == first.imaginer.cfg
        for p in policies
    )


def consensus(plans: np.ndarray) -> int:
    """Index of the medoid of (N, M, A) action-vector plans under the squared distance."""
    flat = plans.reshape(len(plans), -1)
    dist = ((flat[:, None] - flat[None]) ** 2).sum(-1)  # (N, N)
    return int(dist.sum(1).argmin())
