"""Crafter captions from truth: a few short sentences per window, drawn from a small closed set.

Every window caption is a sequence of sentences from `caption_sentences()`: where the player went
(one sentence per axis, in cells), which creatures it hit (episodes recorded with `hits=True`),
what it achieved, which creatures were in view, day or night.
The set is closed and small (about 160 sentences), so the text encoder's embeddings of all of
them can be computed once on a CPU and shipped to machines without the encoder (the latent
cache embeds captions sentence by sentence; see worldsim/models/text.py).

Windows are WINDOW frames long and start every STRIDE frames from frame 1, so that with the
video autoencoder's time factor 4 each window covers exactly the pixel frames of 8 consecutive
latent frames: the world model's training clips get a caption of exactly their own span.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from envs.base import Captions

WINDOW = 32  # frames per caption window: 8 latent frames of a time-factor-4 autoencoder
STRIDE = 4  # frames between window starts: one latent frame
MAX_CELLS = WINDOW  # the player moves at most one cell per frame
INTRO = "Top-down view of a Crafter world of grass, trees, water and stone."
PROMPTS = {
    "collect_wood": "collect wood from a tree",
    "place_table": "collect wood and place a crafting table",
    "make_wood_pickaxe": "build a table and craft a wooden pickaxe",
    "collect_stone": "craft a pickaxe and mine stone",
    "collect_drink": "walk to the water and drink",
    "collect_sapling": "collect a sapling from the grass",
    "place_plant": "collect a sapling and plant it",
    "eat_cow": "find a cow and eat it",
    # the long tasks of plans.py
    "make_stone_pickaxe": "mine stone and craft a stone pickaxe",
    "make_stone_sword": "mine stone and craft a stone sword",
    "place_furnace": "mine stone and place a furnace",
    "collect_iron": "craft a stone pickaxe and mine iron",
    "make_iron_pickaxe": "mine iron and coal and craft an iron pickaxe",
    "make_iron_sword": "mine iron and coal and craft an iron sword",
    "collect_diamond": "craft an iron pickaxe and mine a diamond",
    "defeat_skeleton": "craft a sword and defeat a skeleton in the caves",
    "eat_plant": "plant a sapling, guard it and eat it when it is ripe",
}
AXES = (("east", "west"), ("south", "north"))  # (positive, negative) direction of x and y cells
# Crafter's move actions (crafter/data.yaml: move_left, move_right, move_up, move_down) as cells
# (x east, y south) of the step they are taken in
MOVES = {1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}
DAY_STEPS = 300  # steps of one Crafter day (crafter/env.py `_update_time`)
CREATURES = ("cow", "zombie", "skeleton")
STILL = "The player stays in place."


def move_sentence(cells: int, direction: str) -> str:
    """'The player moves 3 cells east.'"""
    return f"The player moves {cells} {'cell' if cells == 1 else 'cells'} {direction}."


ACHIEVES = "The player achieves "  # how every achievement sentence begins


def achievement_sentence(name: str) -> str:
    """'The player achieves collect wood.'"""
    return f"{ACHIEVES}{name.replace('_', ' ')}."


HITS = "The player hits "  # how every hit sentence begins


def hit_sentence(kind: str) -> str:
    """'The player hits a cow.'"""
    return f"{HITS}a {kind}."


def creature_sentence(kind: str) -> str:
    """'Cows are nearby.'"""
    return f"{kind.capitalize()}s are nearby."


def light_sentence(daylight: float) -> str:
    return "It is daytime." if daylight > 0.5 else "It is night."


def daylight(steps: np.ndarray) -> np.ndarray:
    """Crafter's light at each step of an episode, as crafter/env.py `_update_time` sets it: 1 by
    day, 0 in the middle of the night. Frame t of a recorded episode is step t."""
    progress = (np.asarray(steps) / DAY_STEPS) % 1 + 0.3
    return 1 - np.abs(np.cos(np.pi * progress)) ** 3


def heading(delta: np.ndarray) -> list[str]:
    """Sentences for a net displacement in cells (x east, y south): one per axis moved."""
    out = []
    for (positive, negative), d in zip(AXES, (int(delta[0]), int(delta[1]))):
        if d:
            out.append(move_sentence(abs(d), positive if d > 0 else negative))
    return out or [STILL]


def caption_sentences(achievements: list[str], hits: bool = False) -> list[str]:
    """Every sentence a window caption can contain, in a fixed order (`hits`: with the hit
    sentences of episodes recorded with hits=True)."""
    moves = [move_sentence(n, d) for pair in AXES for d in pair for n in range(1, MAX_CELLS + 1)]
    return (
        [STILL, *moves]
        + [hit_sentence(c) for c in CREATURES if hits]
        + [achievement_sentence(a) for a in achievements]
        + [creature_sentence(c) for c in CREATURES]
        + [light_sentence(1.0), light_sentence(0.0)]
    )


def window_sentences(record: dict[str, Any], start: int, end: int) -> list[str]:
    """The sentences describing frames [start, end) of a recorded episode."""
    truth = record["truth"]
    pos = np.asarray(truth["extra_player_pos"][start:end], np.int64)  # (t, 2)
    sentences = heading(pos[-1] - pos[0])
    hit = {
        e["detail"]["kind"]
        for e in record["events"]
        if e["kind"] == "hit" and start <= e["frame"] < end
    }
    sentences += [hit_sentence(c) for c in CREATURES if c in hit]
    achieved = [
        e["detail"]["name"]
        for e in record["events"]
        if e["kind"] == "achievement" and start <= e["frame"] < end
    ]
    sentences += [achievement_sentence(a) for a in dict.fromkeys(achieved)]
    objects = record["objects"]
    if objects:
        visible = np.asarray(truth["obj_visible"][start:end]).max(axis=0)  # (N,)
        seen = {objects[i]["category"] for i in np.nonzero(visible > 0)[0]}
        sentences += [creature_sentence(c) for c in CREATURES if c in seen]
    sentences.append(light_sentence(float(np.mean(truth["extra_daylight"][start:end]))))
    return sentences


def foreseen_sentences(actions: np.ndarray, start: int, end: int, heading_too: bool) -> list[str]:
    """The sentences of frames [start, end) that are known before the frames are made: where the
    move actions take the player (`heading_too`; a blocked move counts as made) and the light of
    the game clock. actions (T,) Crafter action ids, action t the one that led to frame t."""
    light = [light_sentence(float(np.mean(daylight(np.arange(start, end)))))]
    if not heading_too:
        return light
    moves = np.array([MOVES.get(int(a), (0, 0)) for a in actions[start + 1 : end]])  # (t, 2)
    return heading(moves.sum(axis=0) if len(moves) else np.zeros(2)) + light


def window_starts(length: int) -> list[int]:
    """Window starts: frame 0 (the first latent frame's clip) and every STRIDE frames from 1."""
    return [0] + list(range(1, max(length - WINDOW, 0) + 2, STRIDE))


def window_captions(length: int, sentences: Callable[[int, int], list[str]]) -> list[dict]:
    """Every window of an episode of `length` frames with its caption, `sentences(start, end)`."""
    spans = [(s, min(s + WINDOW, length)) for s in window_starts(length)]
    return [{"start": a, "end": b, "text": " ".join(sentences(a, b))} for a, b in spans]


def foreseen_captions(actions: np.ndarray, heading_too: bool = True) -> Captions:
    """Window captions of an episode told only what its actions and the game clock say
    (`foreseen_sentences`): text for a rollout that must not read the true episode's captions,
    which describe the frames it is asked to make. actions (T,) Crafter action ids."""
    windows = window_captions(
        len(actions), lambda a, b: foreseen_sentences(actions, a, b, heading_too)
    )
    return Captions(long="", prompt="", windows=windows)


def describe_episode(
    record: dict[str, Any], task: str, items: list[str], achievements: list[str]
) -> Captions:
    """Long caption, prompt and per-window captions of a recorded Crafter episode."""
    t = len(record["frames"])
    inventory = np.asarray(record["truth"]["extra_inventory"][-1])
    vitals = ("health", "food", "drink", "energy")
    held = [
        f"{n} {name.replace('_', ' ')}"
        for name, n in zip(items, inventory)
        if n > 0 and name not in vitals
    ]
    long = " ".join([INTRO, *window_sentences(record, 0, t)])
    if held:
        long += " At the end it carries " + ", ".join(held) + "."
    windows = window_captions(t, lambda a, b: window_sentences(record, a, b))
    return Captions(long=long, prompt=PROMPTS.get(task, task.replace("_", " ")), windows=windows)
