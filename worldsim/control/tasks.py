"""Control tasks: which env, what the user types, and success read from the env's truth.

Crafter: an achievement (collect wood, place table, collect drink, eat cow, ...) unlocked in the
episode, from the env's achievement events. MuJoCo Push: "push the <colour> <object>
<direction>"; success when that object ends at least PUSH_SUCCESS_M further in the direction
(camera-relative, on the floor) than it started, from the truth's object positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.captions import FLOOR_DIRECTIONS, NOUNS
from envs.crafter.captions import PROMPTS
from envs.make import EnvConfig
from envs.mujoco.scenes import PALETTE, SHAPES

CRAFTER_ID, PUSH_ID = "worldsim/CrafterReward-v0", "worldsim/MujocoPush-v0"
CRAFTER_TASKS = ("collect_wood", "place_table", "collect_drink", "eat_cow")  # the four
STRIKES = {"eat_cow": "cow"}  # the creature a task's plan strikes (`control.hits` says it)
PUSH_SUCCESS_M = 0.1  # metres the named object must gain in the named direction
# camera-relative floor directions: sign on (right, towards-camera) of `horizontal_axes`
PUSH_DIRECTIONS = FLOOR_DIRECTIONS  # the words of push_control's captions
# words of a short prompt -> crafter task, most specific first ("wood and a table" is a table)
CRAFTER_KEYWORDS = (
    ("place_table", ("table",)),
    ("make_wood_pickaxe", ("pickaxe",)),
    ("collect_stone", ("stone", "mine")),
    ("place_plant", ("plant",)),
    ("collect_sapling", ("sapling",)),
    ("collect_drink", ("drink", "water")),
    ("eat_cow", ("cow", "eat", "beef")),
    ("collect_wood", ("wood", "tree", "log")),
)


def short_prompts() -> list[str]:
    """Every short prompt a control task can be given as typed (the `short_prompt` policy's, the
    expansion ablation): Crafter's, and "push the <colour> <noun> <direction>" for every palette
    colour, object shape and direction (`Task.episode_prompt`)."""
    nouns = [NOUNS[shape][0] for shape in SHAPES]
    push = [f"push the {c} {n} {d}" for c in PALETTE for n in nouns for d in PUSH_DIRECTIONS]
    return [*PROMPTS.values(), *push]


class TaskError(ValueError):
    """A prompt or task name no task matches; one line naming the fix."""


@dataclass
class Task:
    """One control task: its env, the prompt of an episode, and success from truth."""

    name: str  # e.g. collect_wood, push_left
    env: EnvConfig
    prompt: str = ""  # fixed user prompt; "" = the task's own (push: names the scene's object)
    target: dict[str, Any] = field(default_factory=dict)  # push: colour and direction

    @property
    def family(self) -> str:
        return "push" if self.env.id == PUSH_ID else "crafter"

    def episode_prompt(self, env: Any) -> str:
        """The short prompt a user would type for this episode (after `env.reset`)."""
        if self.prompt or self.family == "crafter":
            return self.prompt or PROMPTS[self.name]
        obj = push_target(env, self.target)
        return f"push the {obj.colour} {NOUNS[obj.category][0]} {self.target['direction']}"

    def start(self, env: Any, info: dict) -> dict[str, Any]:
        """What success is measured against, read at reset."""
        if self.family == "crafter":
            return {}
        from envs.mujoco.scenarios import horizontal_axes  # imports mujoco: push tasks only

        obj = push_target(env, self.target)
        right, towards = horizontal_axes(env.unwrapped.pose)
        a, b = PUSH_DIRECTIONS[self.target["direction"]]
        return {"object": obj.id, "axis": a * right + b * towards, "from": _position(info, obj.id)}

    def progress(self, start: dict[str, Any], info: dict) -> float:
        """Crafter: 1 when the achievement happened at this step; Push: metres gained so far."""
        if self.family == "crafter":
            names = [e.detail.get("name") for e in info["events"] if e.kind == "achievement"]
            return float(self.name in names)
        return float((_position(info, start["object"]) - start["from"]) @ start["axis"])

    def reached(self, progress: float) -> bool:
        return progress >= (PUSH_SUCCESS_M if self.family == "push" else 1.0)


def _position(info: dict, index: int) -> np.ndarray:
    return np.asarray(info["truth"].objects.position[index], np.float64)


def push_target(env: Any, target: dict[str, Any]):
    """The object a push task names: its colour, else the first object of the scene."""
    objects = [o for o in env.unwrapped.object_table() if o.category != "agent"]
    named = [o for o in objects if o.colour == target.get("colour")]
    if target.get("colour") and not named:
        raise TaskError(
            f"no {target['colour']} object in this scene (it has "
            f"{', '.join(o.colour for o in objects)}); name one of those colours"
        )
    return (named or objects)[0]


def env_family(env_id: str) -> str | None:
    """The task family an env id plays ("crafter" | "push"), None for an env with no tasks."""
    if env_id == PUSH_ID:
        return "push"
    return "crafter" if env_id.startswith("worldsim/Crafter") else None


def crafter_task_of(prompt: str) -> str:
    """The crafter task a short prompt asks for, by its words."""
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    for task, keys in CRAFTER_KEYWORDS:
        if words & set(keys):
            return task
    raise TaskError(
        f"prompt {prompt!r} names no crafter task; mention one of "
        + ", ".join(k[0] for _, k in CRAFTER_KEYWORDS)
    )


def parse_push(prompt: str) -> dict[str, str]:
    """'push the red ball left' -> {'colour': 'red', 'direction': 'left'}."""
    words = re.findall(r"[a-z]+", prompt.lower())
    colours = [w for w in words if w in PALETTE]
    directions = [w for w in words if w in PUSH_DIRECTIONS]
    if not directions:
        raise TaskError(
            f"prompt {prompt!r} names no direction; write 'push the <colour> <object> "
            f"<{'|'.join(PUSH_DIRECTIONS)}>'"
        )
    return {"colour": colours[0] if colours else "", "direction": directions[-1]}


def task_from_prompt(env: EnvConfig, prompt: str) -> Task:
    """The task a user prompt asks for in `env` (the prompt is kept as typed)."""
    if env.id == PUSH_ID:
        target = parse_push(prompt)
        return Task(f"push_{target['direction']}", env, prompt, target)
    if env.id.startswith("worldsim/Crafter"):
        name = crafter_task_of(prompt)
        return Task(name, _crafter_env(env, name), prompt)
    raise TaskError(f"env {env.id} has no control tasks; use env=crafter or env=push")


def named_task(name: str, env: EnvConfig | None = None) -> Task:
    """A grid task by name: a crafter task (collect_wood, ...) or push_<direction>; `env` gives
    the frame size (and, of the same family, the kwargs)."""
    env = env or EnvConfig(CRAFTER_ID)
    if name.startswith("push_") and name[5:] in PUSH_DIRECTIONS:
        kwargs = env.kwargs if env.id == PUSH_ID else {}
        push = EnvConfig(PUSH_ID, env.width, env.height, dict(kwargs))
        return Task(name, push, target={"direction": name[5:]})
    if name in PROMPTS:
        kwargs = env.kwargs if env.id.startswith("worldsim/Crafter") else {}
        return Task(name, _crafter_env(EnvConfig(CRAFTER_ID, env.width, env.height, kwargs), name))
    pushes = ", ".join(f"push_{d}" for d in PUSH_DIRECTIONS)
    raise TaskError(f"unknown task {name!r}; choose from {', '.join(PROMPTS)}, {pushes}")


def _crafter_env(env: EnvConfig, task: str) -> EnvConfig:
    """The env with the scripted planner of `task` (the ceiling policy plays it)."""
    return EnvConfig(env.id, env.width, env.height, {**env.kwargs, "task": task})
