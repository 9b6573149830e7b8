"""Minecraft captions from the recorded actions (MineRL and VPT footage carry no other truth)."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.base import Captions
from envs.minerl.actions import BUTTONS, CAMERA_UNIT

WINDOW = 40  # frames per caption window (2 s at 20 fps)
VERBS = {
    "forward": "walks forward",
    "back": "walks backward",
    "left": "strafes left",
    "right": "strafes right",
    "jump": "jumps",
    "attack": "attacks or mines",
    "use": "uses or places an item",
    "sneak": "sneaks",
    "sprint": "sprints",
    "inventory": "opens the inventory",
    "drop": "drops an item",
}


def describe_actions(actions: np.ndarray, min_share: float = 0.15) -> str:
    """What the player does over (T, A) encoded MineRL actions: held buttons and net camera
    turns."""
    actions = np.asarray(actions, np.float32)
    share = actions[:, : len(BUTTONS)].mean(axis=0)
    doing = [VERBS[b] for b, s in zip(BUTTONS, share) if b in VERBS and s >= min_share]
    pitch, yaw = actions[:, len(BUTTONS) :].sum(axis=0) * CAMERA_UNIT
    if abs(yaw) >= 30:
        doing.append(f"turns {'right' if yaw > 0 else 'left'} by about {abs(yaw):.0f} degrees")
    if abs(pitch) >= 20:
        doing.append(f"looks {'down' if pitch > 0 else 'up'}")
    if not doing:
        return "The player stands still."
    return (
        "The player "
        + ", ".join(doing[:-1])
        + (" and " if len(doing) > 1 else "")
        + doing[-1]
        + "."
    )


def describe_minecraft(record: dict[str, Any], scene: str, prompt: str) -> Captions:
    """Long caption, prompt and per-window captions from an episode's encoded actions."""
    actions = np.asarray(record["actions"])
    t = len(actions)
    windows = [
        {
            "start": s,
            "end": min(s + WINDOW, t),
            "text": f"{scene} {describe_actions(actions[s : s + WINDOW])}",
        }
        for s in range(0, t, WINDOW)
    ]
    return Captions(long=f"{scene} {describe_actions(actions)}", prompt=prompt, windows=windows)
