"""Scripted Crafter policies, planned from the env's exact world state.

The short tasks (SHORT_TASKS) are a small plan over the inventory (e.g. place_table: collect
wood until there is enough, then place it). The long tasks of plans.py climb crafter's tech tree
(stone and iron tools, furnace, diamond), hunt skeletons or grow a sapling. Both give a goal
each step, which execute.py turns into an action: movement is a cheapest route on the material
map to a cell next to the wanted material or creature. The prompt-control work uses these as
competent policies; the `mixed` recording policy mixes them with random actions.
"""

from __future__ import annotations

import numpy as np

from envs.crafter import plans
from envs.crafter.execute import act

TABLE_WOOD, PICKAXE_WOOD = 2, 1  # crafter's data.yaml costs
SHORT_TASKS = (
    "collect_wood",
    "place_table",
    "make_wood_pickaxe",
    "collect_stone",
    "collect_drink",
    "collect_sapling",
    "place_plant",
    "eat_cow",
)
TASKS = (*SHORT_TASKS, *plans.PLANS)  # the "mix" task draws one of these per episode


def _near_table(world, pos) -> bool:
    x, y = pos
    area = world._mat_map[
        max(0, x - 1) : x + 2, max(0, y - 1) : y + 2
    ]  # crafter's "nearby" is the 3x3 area
    return bool((area == world._mat_ids["table"]).any())


def next_goal(task: str, inventory: dict[str, int], near_table: bool) -> tuple[str, str]:
    """(verb, target) for `task` now: 'collect' a material or creature, 'place'/'make' an item."""
    if task not in SHORT_TASKS:
        raise ValueError(f"unknown crafter task {task!r}; choose one of {', '.join(SHORT_TASKS)}")
    wood = inventory["wood"]
    if task == "collect_drink":
        return "collect", "water"
    if task == "eat_cow":
        return "collect", "cow"
    if task in ("collect_sapling", "place_plant"):
        if task == "place_plant" and inventory["sapling"] > 0:
            return "place", "plant"
        return "collect", "grass"
    if task == "collect_wood":
        return "collect", "tree"
    if task == "place_table":
        return ("place", "table") if wood >= TABLE_WOOD else ("collect", "tree")
    if inventory["wood_pickaxe"] == 0:  # make_wood_pickaxe and collect_stone need one
        if near_table:
            return ("make", "wood_pickaxe") if wood >= PICKAXE_WOOD else ("collect", "tree")
        return ("place", "table") if wood >= TABLE_WOOD + PICKAXE_WOOD else ("collect", "tree")
    if task == "make_wood_pickaxe":
        return "collect", "tree"
    return "collect", "stone"


def scripted_action(task: str, world, player, rng: np.random.Generator) -> str:
    """Action name that advances `task` from the current world state."""
    if task in plans.PLANS:
        goal = plans.next_goal(task, world, player)
    else:
        goal = next_goal(task, player.inventory, _near_table(world, player.pos))
    return act(goal, world, player, rng)
