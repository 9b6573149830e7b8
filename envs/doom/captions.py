"""Doom captions from truth: how the camera moved, which things were in view, what happened."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.base import Captions

SCENES = {  # scenario -> (scene description, short prompt)
    "my_way_home": ("a maze of rooms and corridors", "find the way through the maze"),
    "health_gathering": (
        "a room with an acid floor and scattered medikits",
        "gather health kits on the acid floor",
    ),
    "deathmatch": (
        "an arena full of monsters, weapons and ammunition",
        "fight the monsters in the arena",
    ),
    "defend_the_center": (
        "a circular room with monsters closing in",
        "defend the centre of the room",
    ),
}
WINDOW = 32  # frames per caption window
EVENT_WORDS = {
    "removed": "picks up or destroys",
    "damage": "takes damage",
    "heal": "regains health",
    "kill": "kills a monster",
    "death": "dies",
}


def camera_track(extrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 4, 4) world->camera -> camera positions (T, 3) and unwrapped yaw in degrees (T,)."""
    rot, trans = extrinsics[:, :3, :3], extrinsics[:, :3, 3]
    position = -np.einsum("tji,tj->ti", rot, trans)  # c = -R^T t
    forward = rot[:, 2]
    yaw = np.degrees(np.unwrap(np.arctan2(forward[:, 1], forward[:, 0])))
    return position, yaw


def motion_phrase(distance: float, turn: float) -> str:
    """Words for walking `distance` metres while turning `turn` degrees (left positive)."""
    side = "left" if turn > 0 else "right"
    if distance < 0.5:
        return (
            f"turns {side} on the spot by about {abs(turn):.0f} degrees"
            if abs(turn) >= 20
            else "stands still"
        )
    walk = f"walks about {distance:.0f} m"
    return (
        f"{walk} while turning {side} by about {abs(turn):.0f} degrees"
        if abs(turn) >= 20
        else f"{walk} straight ahead"
    )


def _seen(record: dict[str, Any], start: int, end: int) -> list[str]:
    visible = record["truth"].get("obj_visible")
    if visible is None:
        return []
    rows = np.nonzero(np.asarray(visible[start:end]).max(axis=0) > 0)[0] if end > start else []
    names = sorted({record["objects"][r]["category"] for r in rows} - {"DoomPlayer"})
    return names


def _happenings(events: list[dict[str, Any]], start: int, end: int) -> list[str]:
    words = []
    for e in events:
        if start <= e["frame"] < end and e["kind"] in EVENT_WORDS:
            what = EVENT_WORDS[e["kind"]]
            if e["kind"] == "removed":
                what += " the " + e["detail"]["name"].rsplit("_", 1)[0]
            if what not in words:
                words.append(what)
    return words


def _sentence(
    record: dict[str, Any], position: np.ndarray, yaw: np.ndarray, start: int, end: int
) -> str:
    last = end - 1
    distance = (
        float(np.linalg.norm(np.diff(position[start:end, :2], axis=0), axis=1).sum())
        if last > start
        else 0.0
    )
    text = f"The player {motion_phrase(distance, float(yaw[last] - yaw[start]))}"
    seen = _seen(record, start, end)
    if seen:
        text += "; in view: " + ", ".join(seen)
    happened = _happenings(record["events"], start, end)
    if happened:
        text += "; the player " + " and ".join(happened)
    return text + "."


def describe_episode(record: dict[str, Any], scenario: str) -> Captions:
    """Long caption, prompt and per-window captions of a recorded Doom episode."""
    scene, prompt = SCENES.get(scenario, ("a Doom level", f"play the Doom scenario {scenario}"))
    position, yaw = camera_track(np.asarray(record["truth"]["extrinsics"]))
    t = len(position)
    intro = f"First-person view in Doom: {scene}."
    windows = [
        {
            "start": s,
            "end": min(s + WINDOW, t),
            "text": f"{intro} {_sentence(record, position, yaw, s, min(s + WINDOW, t))}",
        }
        for s in range(0, t, WINDOW)
    ]
    return Captions(
        long=f"{intro} {_sentence(record, position, yaw, 0, t)}", prompt=prompt, windows=windows
    )
