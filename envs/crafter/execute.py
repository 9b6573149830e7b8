"""One scripted goal -> one crafter action name, from the exact world state.

Goals come from the planners (scripted.py, plans.py): ("collect", target) walks next to the
nearest target (a material, a creature class or 'ripe_plant'), faces it and hits `do`;
("make", item) crafts; ("place", item, near) finds a free cell to place on, standing where the
`near` materials are in the 3x3 (the furnace beside the table); ("visit", materials) walks to
such a cell; ("guard", "plant") stays by a sapling and fights off creatures about to eat it;
("sleep",) sleeps.
When nothing is reachable the player wanders (a random move), so no goal can stall an episode.
"""

from __future__ import annotations

import numpy as np

from envs.crafter import recipes
from envs.crafter.navigate import (
    MOVES,
    cell_mask,
    facing_cell,
    grow,
    inside,
    move_action,
    route,
    shift,
    step_costs,
    turn_to,
)
from envs.crafter.plans import stand_near, target_cells

GUARD_RADIUS = 2  # creatures this close (cells, Manhattan) to a sapling get attacked
WATER_NEAR = 3  # cells: saplings go this close to water when a sheltered cell there exists
PESTS = ("cow", "zombie", "skeleton")  # crafter's Plant dies when one of these stands next to it


def act(goal: tuple, world, player, rng: np.random.Generator) -> str:
    verb = goal[0]
    dig = recipes.mineable(player.inventory)
    if verb == "make":
        return f"make_{goal[1]}"
    if verb == "sleep":
        return "sleep"
    if verb == "collect":
        return collect(target_cells(world, goal[1]), world, player, rng, dig)
    if verb == "place":
        return place(goal[1], goal[2] if len(goal) > 2 else (), world, player, rng, dig)
    if verb == "visit":
        return go(stand_near(goal[1], world), world, player, rng, dig)
    if verb == "guard":
        return guard(world, player, rng, dig)
    raise ValueError(f"unknown scripted crafter goal {goal!r}")


def wander(rng: np.random.Generator) -> str:
    return str(rng.choice(list(MOVES.values())))


def go(stand: np.ndarray, world, player, rng, dig) -> str:
    """A step of the cheapest route onto a `stand` cell ('noop' once there)."""
    found = route(world, player.pos, stand, dig)
    if found is None:
        return wander(rng)
    move, _ = found
    return "noop" if move == (0, 0) else move_action(world, player, move, dig)


def collect(goal: np.ndarray, world, player, rng, dig) -> str:
    """`do` on a goal cell: face one when next to it, else walk (and dig) to one."""
    face = facing_cell(player)
    if inside(world, face) and goal[face]:
        return "do"
    found = route(world, player.pos, grow(goal), dig)
    if found is None:
        return wander(rng)
    move, _ = found
    if move == (0, 0):
        return turn_to(world, player, goal) or wander(rng)
    return move_action(world, player, move, dig)


def sheltered(valid: np.ndarray, world, player) -> np.ndarray:
    """(area, 4) bool: placing from direction d onto a `valid` cell whose only walkable neighbour
    is the cell the player stands on, d before it. A sapling there cannot be reached by cows
    or zombies while the player stays."""
    walk = step_costs(world, ()) == 1
    walk[tuple(player.pos)] = True  # the player's own cell is open too
    open_sides = sum(shift(walk, -dx, -dy).astype(int) for dx, dy in MOVES)
    out = np.zeros((*world.area, len(MOVES)), bool)
    for i, (dx, dy) in enumerate(MOVES):
        behind = shift(walk, dx, dy)  # the cell the player places from is open
        out[..., i] = valid & (open_sides == 1) & behind
    return out


def place_sheltered(name: str, world, player, rng, dig) -> str | None:
    """Place on a sheltered cell (see `sheltered`), walking to the cell two steps before it;
    None when there is none."""
    valid = cell_mask(world, recipes.place_on(name)) & (world._obj_map == 0)
    spots = sheltered(valid, world, player)
    by_water = cell_mask(world, ("water",))
    for _ in range(WATER_NEAR):
        by_water = grow(by_water, diagonal=True)
    if (spots & by_water[..., None]).any():  # the guard drinks without leaving its sapling
        spots &= by_water[..., None]
    if not spots.any():
        return None
    here, face = tuple(int(v) for v in player.pos), facing_cell(player)
    d = tuple(int(v) for v in player.facing)
    if inside(world, face) and spots[face][list(MOVES).index(d)]:
        return f"place_{name}"
    approach = np.zeros(world.area, bool)  # two cells before a spot: one move faces it
    for i, (dx, dy) in enumerate(MOVES):
        approach |= shift(spots[..., i], -2 * dx, -2 * dy)
        here_spot = (here[0] + 2 * dx, here[1] + 2 * dy)
        if inside(world, here_spot) and spots[here_spot][i]:
            return MOVES[(dx, dy)]
    found = route(world, player.pos, approach, dig)
    if found is None or found[0] == (0, 0):
        return None
    return move_action(world, player, found[0], dig)


def place(name: str, near: tuple, world, player, rng, dig) -> str:
    """Place `name` on the faced cell when it is free, standing within reach of `near`.

    A move onto a free cell also turns the player, so one lookahead move usually finds a
    standing cell and a free faced cell together.
    """
    if name == "plant":  # saplings ripen only if no creature steps next to them for 300 steps
        action = place_sheltered(name, world, player, rng, dig)
        if action:
            return action
    valid = cell_mask(world, recipes.place_on(name)) & (world._obj_map == 0)
    stand = stand_near(near, world) if near else np.ones(world.area, bool)
    here, face = tuple(int(v) for v in player.pos), facing_cell(player)
    if stand[here] and inside(world, face) and valid[face]:
        return f"place_{name}"
    walk = step_costs(world, ()) == 1
    for (dx, dy), action in MOVES.items():
        nxt = (here[0] + dx, here[1] + dy)
        if not inside(world, nxt):
            continue
        pos = nxt if walk[nxt] else here
        ahead = (pos[0] + dx, pos[1] + dy)
        if stand[pos] and inside(world, ahead) and valid[ahead]:
            return action
    if not stand[here]:
        return go(stand, world, player, rng, dig)
    return wander(rng)


def guard(world, player, rng, dig) -> str:
    """Attack a creature close to a sapling; else wait beside the sapling."""
    plants = target_cells(world, "plant")
    threat = np.zeros(world.area, bool)
    for obj in world.objects:
        if type(obj).__name__.lower() in PESTS:
            gap = np.abs(np.argwhere(plants) - obj.pos).sum(axis=1)
            threat[tuple(obj.pos)] = bool(len(gap)) and gap.min() <= GUARD_RADIUS
    if threat.any():
        return collect(threat, world, player, rng, dig)
    if grow(plants)[tuple(player.pos)]:
        return "noop"
    return go(grow(plants), world, player, rng, dig)
