"""Crafter's tech tree, read from crafter's own data.yaml (via crafter.constants), never copied.

The installed crafter differs from the paper's (a table takes 2 wood, a furnace 4 stone, trees
turn to grass), so the planners ask the game for every cost, tool and station.
"""

from __future__ import annotations

import functools


@functools.cache
def _constants():
    import crafter  # imported on first use, like envs.crafter.env

    return crafter.constants


def uses(kind: str, name: str) -> dict[str, int]:
    """Items consumed by 'make' or 'place' `name`, e.g. uses('place', 'table') == {'wood': 2}."""
    table = _constants().make if kind == "make" else _constants().place
    return dict(table[name]["uses"])


def stations(name: str) -> tuple[str, ...]:
    """Materials that must be in the 3x3 around the player to make `name` (table, furnace)."""
    return tuple(_constants().make[name]["nearby"])


def place_on(name: str) -> tuple[str, ...]:
    """Materials `name` can be placed on."""
    return tuple(_constants().place[name]["where"])


def is_made(item: str) -> bool:
    """Whether `item` is crafted at a station (tools) rather than collected."""
    return item in _constants().make


def source(item: str) -> str:
    """The material collected for `item` (wood <- tree, sapling <- grass, drink <- water)."""
    for material, info in _constants().collect.items():
        if item in info["receive"]:
            return material
    raise KeyError(f"no crafter material gives {item!r}")


def tools(material: str) -> dict[str, int]:
    """Tools needed to collect `material` (iron needs a stone pickaxe)."""
    return dict(_constants().collect[material]["require"])


def mineable(inventory: dict[str, int]) -> tuple[str, ...]:
    """Solid materials the player can dig through now: collecting them leaves a walkable cell."""
    out = []
    for material, info in _constants().collect.items():
        solid = material not in _constants().walkable and material != "water"
        has_tools = all(inventory[k] >= n for k, n in info["require"].items())
        if solid and has_tools and info["leaves"] in _constants().walkable:
            out.append(material)
    return tuple(out)
