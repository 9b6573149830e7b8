"""Crafter captions from truth: where the player went, what it achieved, day or night, creatures in view."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.base import Captions

WINDOW = 32  # frames per caption window
PROMPTS = {
    "collect_wood": "collect wood from a tree",
    "place_table": "collect wood and place a crafting table",
    "make_wood_pickaxe": "build a table and craft a wooden pickaxe",
    "collect_stone": "craft a pickaxe and mine stone",
    "collect_drink": "walk to the water and drink",
    "collect_sapling": "collect a sapling from the grass",
    "place_plant": "collect a sapling and plant it",
    "eat_cow": "find a cow and eat it",
}
DIRECTIONS = {(1, 0): "east", (-1, 0): "west", (0, 1): "south", (0, -1): "north"}


def heading(delta: np.ndarray) -> str:
    """Compass words for a net displacement in cells (x east, y south)."""
    dx, dy = int(delta[0]), int(delta[1])
    if dx == dy == 0:
        return "stays in place"
    parts = [
        f"{abs(d)} cells {DIRECTIONS[(int(np.sign(d)), 0) if axis == 0 else (0, int(np.sign(d)))]}"
        for axis, d in enumerate((dx, dy))
        if d
    ]
    return "moves " + " and ".join(parts)


def _sentence(record: dict[str, Any], start: int, end: int) -> str:
    truth = record["truth"]
    pos = np.asarray(truth["extra_player_pos"][start:end], np.int64)
    text = f"The player {heading(pos[-1] - pos[0])}"
    achieved = [
        e["detail"]["name"].replace("_", " ")
        for e in record["events"]
        if e["kind"] == "achievement" and start <= e["frame"] < end
    ]
    if achieved:
        text += " and achieves " + ", ".join(dict.fromkeys(achieved))
    visible = (
        np.asarray(truth["obj_visible"][start:end]).max(axis=0)
        if len(record["objects"])
        else np.zeros(0)
    )
    seen = sorted(
        {record["objects"][i]["category"] for i in np.nonzero(visible > 0)[0]} - {"player"}
    )
    if seen:
        text += "; nearby: " + ", ".join(f"{c}s" for c in seen)
    light = float(np.mean(truth["extra_daylight"][start:end]))
    return text + ("; it is daytime." if light > 0.5 else "; it is night.")


def describe_episode(
    record: dict[str, Any], task: str, items: list[str], achievements: list[str]
) -> Captions:
    """Long caption, prompt and per-window captions of a recorded Crafter episode."""
    t = len(record["frames"])
    intro = "Top-down view of a Crafter world of grass, trees, water and stone."
    inventory = np.asarray(record["truth"]["extra_inventory"][-1])
    held = [
        f"{n} {name.replace('_', ' ')}"
        for name, n in zip(items, inventory)
        if n > 0 and name not in ("health", "food", "drink", "energy")
    ]
    long = f"{intro} {_sentence(record, 0, t)}"
    if held:
        long += " At the end it carries " + ", ".join(held) + "."
    windows = [
        {
            "start": s,
            "end": min(s + WINDOW, t),
            "text": f"{intro} {_sentence(record, s, min(s + WINDOW, t))}",
        }
        for s in range(0, t, WINDOW)
    ]
    return Captions(long=long, prompt=PROMPTS.get(task, task.replace("_", " ")), windows=windows)
