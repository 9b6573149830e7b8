"""Long scripted tasks: an ordered plan of steps, each resolved through crafter's tech tree.

A plan is a list of steps: an achievement ("make_stone_pickaxe") or ("have", item, n), to stock
up before walking away from a resource (all the wood the plan needs, so the player does not walk
back to the trees after each tool). The current step is the first one not done; `resolve` turns
it into one goal for the executor (execute.py): ("collect", material or creature), ("make",
item), ("place", item, near), ("visit", materials), ("guard", "plant") or ("sleep",). Missing
items and tools resolve recursively (iron needs a stone pickaxe, which needs stone, which needs
a wood pickaxe, ...), so a plan recovers from any random action. Everything is recomputed from
the world each step: no planner state survives between steps.
"""

from __future__ import annotations

import numpy as np

from envs.crafter import recipes
from envs.crafter.navigate import cell_mask, grow, route

# The tech tree in the order the planners climb it. Swords come early: they are cheap and they
# make zombies and skeletons die in fewer hits. Wood 9 is all that fits in the inventory; the
# climb to the iron tools needs 8 (table 2, then 1 for each of 6 tools).
TECH = (
    ("have", "wood", 9),
    "place_table",
    "make_wood_pickaxe",
    "make_wood_sword",
    "make_stone_pickaxe",
    "make_stone_sword",
    "place_stone",
    "place_furnace",
    "collect_coal",
    "collect_iron",
    "make_iron_pickaxe",
    "make_iron_sword",
    "collect_diamond",
)


def _up_to(goal: str, wood: int) -> tuple:
    """TECH up to `goal`, stocking `wood` first; once done the player climbs on (`steps`)."""
    return (("have", "wood", wood), *TECH[1 : TECH.index(goal) + 1])


PLANS = {
    "make_stone_pickaxe": _up_to("make_stone_pickaxe", 5),
    "make_stone_sword": _up_to("make_stone_sword", 6),
    "place_furnace": _up_to("place_furnace", 6),
    "collect_iron": _up_to("collect_iron", 9),
    "make_iron_pickaxe": _up_to("make_iron_pickaxe", 9),
    "make_iron_sword": (*_up_to("collect_iron", 9), "make_iron_sword"),  # the pickaxe after
    "collect_diamond": TECH,
    # skeletons have 3 health: a stone sword (3 damage) kills one in a hit, before it shoots much
    "defeat_skeleton": (
        ("have", "wood", 5),
        "place_table",
        "make_wood_pickaxe",
        "make_wood_sword",
        "make_stone_sword",
        "defeat_skeleton",
    ),
    # a sapling ripens after 300 steps near the player (crafter's Plant); creatures next to it
    # eat it, so it goes in a sheltered cell (execute.py) and the player stays, sword in hand:
    # the guard lives through a night of zombies
    "eat_plant": (
        ("have", "wood", 3),
        "place_table",
        "make_wood_sword",
        "collect_sapling",
        "place_plant",
        "eat_plant",
    ),
}
CLIMBS = {task for task, plan in PLANS.items() if plan[-1] in TECH}  # these go on up TECH
# where placed things go, when such a cell is reachable: the table by the stone, where the
# pickaxes are made and used; the furnace by a table, as iron tools need both in the 3x3
PLACE_NEAR = {"table": ("stone",), "furnace": ("table",)}
STATION_WALK = 8  # a station this far (route cost) is walked to when a new one is affordable
STATION_FAR = 60  # ... and this far when it is not
THIRSTY, HUNGRY, SUPPLY_WALK = 3, 3, 15  # below these, drink / eat when water / a cow is close
CRITICAL = 2  # ... and below this however far they are: at 0, health drains
FULL = 9  # crafter's maximum of food and drink
TIRED = 2  # energy below this: sleep (an episode of 300+ steps runs out of energy) ...
DAY = 0.5  # ... by day only: night zombies hit a sleeper for 7 of its 9 health
FIGHT = 2  # zombies and skeletons this close (cells) are fought: running lets a zombie hit often


def steps(task: str) -> tuple:
    """The task's plan, and for tech tasks the rest of TECH after it."""
    plan = PLANS[task]
    if task in CLIMBS:
        plan = (*plan, *(s for s in TECH if s not in plan))
    return plan


def _done(step, later: list, player) -> bool:
    if isinstance(step, str):
        return player.achievements[step] > 0
    if any(isinstance(s, str) and player.achievements[s] > 0 for s in later):
        return True  # stocking only prepares what comes after
    return player.inventory[step[1]] >= step[2]


def current_step(task: str, player):
    """First step of the task's plan not done yet; the last step once all are."""
    plan = steps(task)
    for i, step in enumerate(plan):
        if not _done(step, list(plan[i + 1 :]), player):
            return step
    return plan[-1]


def next_goal(task: str, world, player) -> tuple:
    """The goal the executor works on now: urgent needs first, then the plan's current step."""
    urgent = _urgent(world, player)
    if urgent:
        return urgent
    step = current_step(task, player)
    if isinstance(step, tuple):  # ("have", item, n)
        return ("collect", recipes.source(step[1]))
    return resolve(step, world, player)


def _creatures(world, kinds: tuple[str, ...]) -> list:
    return [o for o in world.objects if type(o).__name__.lower() in kinds]


def _urgent(world, player):
    """Fight a zombie or skeleton close to the player; drink or eat when low and supplies are
    close; sleep when tired."""
    for obj in _creatures(world, ("zombie", "skeleton")):
        if np.abs(obj.pos - player.pos).sum() <= FIGHT:
            return ("collect", type(obj).__name__.lower())
    inv = player.inventory
    for low, limit, target in ((inv["drink"], THIRSTY, "water"), (inv["food"], HUNGRY, "cow")):
        cells = target_cells(world, target)
        if low < FULL and grow(cells)[tuple(player.pos)]:
            return ("collect", target)  # already there: fill up rather than come back soon
        if low < limit:
            found = route(world, player.pos, grow(cells), recipes.mineable(inv))
            if found and (found[1] <= SUPPLY_WALK or low < CRITICAL):
                return ("collect", target)
    # a sleeper cannot chase cows off its sapling, but asleep on its one open side it still
    # blocks them (saplings go in sheltered cells, see execute.py)
    plants = target_cells(world, "plant")
    away = plants.any() and not grow(plants)[tuple(player.pos)]
    if inv["energy"] < TIRED and world.daylight > DAY and not away:
        return ("sleep",)  # at 0 energy health drains; crafter wakes the player when rested or hurt
    return None


def target_cells(world, target: str) -> np.ndarray:
    """(area) bool: cells of a material, of a creature class, or 'ripe_plant'."""
    if target in world._mat_ids:
        return cell_mask(world, (target,))
    cells = np.zeros(world.area, bool)
    for obj in world.objects:
        kind = type(obj).__name__.lower()
        if kind == target or (target == "ripe_plant" and kind == "plant" and obj.ripe):
            cells[tuple(obj.pos)] = True
    return cells


def resolve(achievement: str, world, player) -> tuple:
    """One goal that advances `achievement`, recursing into what it needs first."""
    inv = player.inventory
    verb, _, name = achievement.partition("_")
    if verb in ("make", "place"):
        for item, n in recipes.uses(verb, name).items():
            if inv[item] < n:
                return _obtain(item, world, player)
        if verb == "make":
            return _stations(recipes.stations(name), world, player) or ("make", name)
        near = PLACE_NEAR.get(name, ())
        return ("place", name, near if near and _reachable(near, world, player) else ())
    if verb == "collect":
        material = recipes.source(name)
        for tool, n in recipes.tools(material).items():
            if inv[tool] < n:
                return resolve(f"make_{tool}", world, player)
        return ("collect", material)
    if verb == "defeat":
        return ("collect", name)
    if achievement == "eat_plant":
        if target_cells(world, "ripe_plant").any():
            return ("collect", "ripe_plant")
        if target_cells(world, "plant").any():
            return ("guard", "plant")
        return resolve("place_plant", world, player)
    if achievement == "eat_cow":
        return ("collect", "cow")
    raise ValueError(f"no plan resolves crafter achievement {achievement!r}")


def _obtain(item: str, world, player) -> tuple:
    made = recipes.is_made(item)
    return resolve(f"make_{item}" if made else f"collect_{item}", world, player)


def _reachable(materials: tuple[str, ...], world, player, limit: int = STATION_FAR) -> bool:
    found = route(
        world, player.pos, stand_near(materials, world), recipes.mineable(player.inventory)
    )
    return found is not None and found[1] <= limit


def stand_near(materials: tuple[str, ...], world) -> np.ndarray:
    """Cells with every one of `materials` in their 3x3 (crafter's crafting 'nearby')."""
    stand = np.ones(world.area, bool)
    for m in materials:
        stand &= grow(cell_mask(world, (m,)), diagonal=True)
    return stand


def _stations(needed: tuple[str, ...], world, player):
    """None when every station is in the player's 3x3; else a goal that gets the player there:
    walk to a set close enough, else build one here, the table first and the rest beside it."""
    here = tuple(player.pos)
    if not needed or stand_near(needed, world)[here]:
        return None
    inv = player.inventory
    affordable = all(inv[k] >= n for m in needed for k, n in recipes.uses("place", m).items())
    if _reachable(needed, world, player, STATION_WALK if affordable else STATION_FAR):
        return ("visit", needed)
    if not stand_near(("table",), world)[here]:
        if len(needed) > 1 and _reachable(("table",), world, player, STATION_WALK):
            return ("visit", ("table",))
        return resolve("place_table", world, player)
    missing = [m for m in needed if not stand_near((m,), world)[here]]
    return resolve(f"place_{missing[0]}", world, player)
