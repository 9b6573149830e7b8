"""Shortest routes on crafter's exact material map, digging through what the player can mine.

A route ends on a "stand" cell (e.g. any cell next to a tree, or one with a table and a furnace
in its 3x3). Walking onto a free walkable cell costs one step; a cell the player can mine
(a tree, or stone and ores with the right pickaxe) costs two: `do` turns it into a walkable cell
(and fills the inventory on the way), then the move. Lava, water, tables and creatures block.
Routes are recomputed every step from the world, so the planners stay stateless and pick up
again after any random action.
"""

from __future__ import annotations

import heapq

import numpy as np

WALKABLE = ("grass", "sand", "path")  # crafter's player could also walk on lava, and die there
MOVES = {(-1, 0): "move_left", (1, 0): "move_right", (0, -1): "move_up", (0, 1): "move_down"}
DIG_COST = 2  # `do`, then the move onto the cell it leaves
MAX_COST = 200  # routes longer than this are not worth walking in an episode


def cell_mask(world, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(area) bool: cells whose material is one of `names`."""
    return np.isin(world._mat_map, [world._mat_ids[n] for n in names if n in world._mat_ids])


def shift(cells: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """out[x, y] = cells[x - dx, y - dy]; False where that falls outside the world."""
    out = np.zeros_like(cells)
    w, h = cells.shape
    out[max(dx, 0) : w + min(dx, 0), max(dy, 0) : h + min(dy, 0)] = cells[
        max(-dx, 0) : w - max(dx, 0), max(-dy, 0) : h - max(dy, 0)
    ]
    return out


def grow(cells: np.ndarray, diagonal: bool = False) -> np.ndarray:
    """Cells next to a True cell (4-neighbours, or the 3x3 around it with `diagonal`)."""
    out = np.zeros_like(cells)
    offsets = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)]
    for dx, dy in offsets if diagonal else MOVES:
        out |= shift(cells, dx, dy)
    return out


def step_costs(world, dig: tuple[str, ...]) -> np.ndarray:
    """(area) int: cost of entering each cell (0 = blocked)."""
    cost = np.where(cell_mask(world, WALKABLE), 1, 0)
    cost[cell_mask(world, dig)] = DIG_COST
    cost[world._obj_map != 0] = 0  # creatures, plants and arrows block
    return cost


def route(world, start, stand: np.ndarray, dig: tuple[str, ...] = ()) -> tuple[tuple, int] | None:
    """(first move (dx, dy), cost) of a cheapest route from `start` onto a `stand` cell.

    ((0, 0), 0) when `start` is one; None when no stand cell is reachable within MAX_COST.
    """
    start = (int(start[0]), int(start[1]))
    if stand[start]:
        return (0, 0), 0
    cost = step_costs(world, dig)
    w, h = cost.shape
    best = {start: 0}
    heap = [(0, start, (0, 0))]
    while heap:
        c, (x, y), first = heapq.heappop(heap)
        if c > best[(x, y)]:
            continue
        if stand[x, y]:
            return first, c
        for dx, dy in MOVES:
            nx, ny = x + dx, y + dy
            if not (0 <= nx < w and 0 <= ny < h) or cost[nx, ny] == 0:
                continue
            nc = c + int(cost[nx, ny])
            if nc <= MAX_COST and nc < best.get((nx, ny), MAX_COST + 1):
                best[(nx, ny)] = nc
                heapq.heappush(heap, (nc, (nx, ny), first if (x, y) != start else (dx, dy)))
    return None


def facing_cell(player) -> tuple[int, int]:
    return int(player.pos[0] + player.facing[0]), int(player.pos[1] + player.facing[1])


def inside(world, cell) -> bool:
    return 0 <= cell[0] < world.area[0] and 0 <= cell[1] < world.area[1]


def move_action(world, player, move: tuple[int, int], dig: tuple[str, ...]) -> str:
    """The action that makes the route's first `move`: `do` on a cell to mine, else the move
    (which only turns the player when the cell is blocked)."""
    target = (int(player.pos[0] + move[0]), int(player.pos[1] + move[1]))
    material = world[target][0]
    if material in dig and tuple(player.facing) == tuple(move):
        return "do"
    return MOVES[move]


def turn_to(world, player, goal: np.ndarray) -> str | None:
    """Standing next to a goal cell: `do` when facing one, else the move that faces one."""
    face = facing_cell(player)
    if inside(world, face) and goal[face]:
        return "do"
    x, y = (int(v) for v in player.pos)
    for (dx, dy), name in MOVES.items():
        if inside(world, (x + dx, y + dy)) and goal[x + dx, y + dy]:
            return name
    return None
