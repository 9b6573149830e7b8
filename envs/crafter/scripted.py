"""Scripted Crafter policies for a few achievements, planned from the env's exact world state.

Each task is a small plan over the inventory (e.g. place_table: collect wood until there is
enough, then place it); movement is a breadth-first search on the material map to a cell next
to the wanted material or creature. The prompt-control work uses these as competent policies.
"""

from __future__ import annotations

from collections import deque

import numpy as np

SAFE = {
    "grass",
    "sand",
    "path",
}  # cells the planner walks on (crafter's player could also walk on lava)
MOVES = {(-1, 0): "move_left", (1, 0): "move_right", (0, -1): "move_up", (0, 1): "move_down"}
TABLE_WOOD, PICKAXE_WOOD = 2, 1  # crafter's data.yaml costs
TASKS = (
    "collect_wood",
    "place_table",
    "make_wood_pickaxe",
    "collect_stone",
    "collect_drink",
    "collect_sapling",
    "place_plant",
    "eat_cow",
)


def _near_table(world, pos) -> bool:
    x, y = pos
    area = world._mat_map[
        max(0, x - 1) : x + 2, max(0, y - 1) : y + 2
    ]  # crafter's "nearby" is the 3x3 area
    return bool((area == world._mat_ids["table"]).any())


def next_goal(task: str, inventory: dict[str, int], near_table: bool) -> tuple[str, str]:
    """(verb, target) for `task` now: 'collect' a material or creature, 'place'/'make' an item."""
    if task not in TASKS:
        raise ValueError(f"unknown crafter task {task!r}; choose one of {', '.join(TASKS)}")
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


def _target_cells(world, target: str) -> np.ndarray:
    """(area) bool map of cells holding `target` (a material or a creature class name)."""
    if target in world._mat_ids:
        return world._mat_map == world._mat_ids[target]
    cells = np.zeros(world.area, bool)
    for obj in world.objects:
        if type(obj).__name__.lower() == target:
            cells[tuple(obj.pos)] = True
    return cells


def path_step(
    world, start: tuple[int, int], goal_cells: np.ndarray, max_nodes: int = 4096
) -> tuple[int, int] | None:
    """First move of a shortest safe path from `start` to a cell next to a goal cell.

    (0, 0) when `start` is already there.
    """
    safe = np.isin(world._mat_map, [world._mat_ids[m] for m in SAFE]) & (world._obj_map == 0)
    w, h = goal_cells.shape
    first = {tuple(start): (0, 0)}
    queue = deque([tuple(start)])
    while queue and len(first) < max_nodes:
        x, y = queue.popleft()
        for dx, dy in MOVES:
            nx, ny = x + dx, y + dy
            if not (0 <= nx < w and 0 <= ny < h):
                continue
            if goal_cells[nx, ny]:
                return first[(x, y)]
            if safe[nx, ny] and (nx, ny) not in first:
                first[(nx, ny)] = first[(x, y)] if (x, y) != tuple(start) else (dx, dy)
                queue.append((nx, ny))
    return None


def scripted_action(task: str, world, player, rng: np.random.Generator) -> str:
    """Action name that advances `task` from the current world state."""
    verb, target = next_goal(task, player.inventory, _near_table(world, player.pos))
    if verb == "make":
        return f"make_{target}"
    facing = (int(player.pos[0] + player.facing[0]), int(player.pos[1] + player.facing[1]))
    inside = 0 <= facing[0] < world.area[0] and 0 <= facing[1] < world.area[1]
    material, obj = world[facing] if inside else (None, None)
    if verb == "place":
        free = material in (("grass",) if target == "plant" else SAFE) and obj is None
        return f"place_{target}" if free else str(rng.choice(list(MOVES.values())))
    goal = _target_cells(world, target)
    if inside and goal[facing]:
        return "do"
    step = path_step(world, player.pos, goal)
    if step is None:  # nothing reachable: wander
        return str(rng.choice(list(MOVES.values())))
    if step == (
        0,
        0,
    ):  # next to a goal cell: turn to face it (moving into a blocked cell only turns)
        x, y = player.pos
        for (dx, dy), name in MOVES.items():
            if 0 <= x + dx < world.area[0] and 0 <= y + dy < world.area[1] and goal[x + dx, y + dy]:
                return name
    return MOVES[step]
