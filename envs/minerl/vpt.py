"""The OpenAI VPT / MineRL contractor recording format: `<id>.mp4` + `<id>.jsonl`, one JSON line per
frame.

Each line holds the input recorded with that frame, e.g.
    {"mouse": {"x", "y", "dx", "dy", "buttons": [0], "newButtons": [0], ...},
     "keyboard": {"keys": ["key.keyboard.w"], "newKeys": [...], "chars": ""},
     "isGuiOpen": false, "hotbar": 0, "yaw", "pitch", "xpos", "ypos", "zpos", "tick", ...}
Conversion follows VPT's own loader (data_loader.py / run_inverse_dynamics_model.py): the same
key map, mouse dx/dy times 360/2400 as camera degrees, mouse buttons 0/1/2 as attack/use/pickItem,
the fix for an attack button stuck down from the start, and hotbar changes made by the
scroll wheel turned into hotbar.N presses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs.minerl.actions import noop_action

KEYBOARD = {
    "key.keyboard.escape": "ESC",
    "key.keyboard.s": "back",
    "key.keyboard.q": "drop",
    "key.keyboard.w": "forward",
    **{f"key.keyboard.{i}": f"hotbar.{i}" for i in range(1, 10)},
    "key.keyboard.e": "inventory",
    "key.keyboard.space": "jump",
    "key.keyboard.a": "left",
    "key.keyboard.d": "right",
    "key.keyboard.left.shift": "sneak",
    "key.keyboard.left.control": "sprint",
    "key.keyboard.f": "swapHands",
}
MOUSE_BUTTONS = {0: "attack", 1: "use", 2: "pickItem"}
CAMERA_DEGREES_PER_PIXEL = 360.0 / 2400.0  # VPT's CAMERA_SCALER (MineRL's mouse sensitivity)
POSE_KEYS = ("xpos", "ypos", "zpos", "yaw", "pitch")
# What every line must hold for the conversion: {section: {key: accepted types}}.
REQUIRED = {
    "keyboard": {"keys": list},
    "mouse": {"dx": (int, float), "dy": (int, float), "buttons": list},
}


class RecordingError(ValueError):
    """A malformed contractor .jsonl; the one-line message names the file and the line."""


@dataclass
class Recording:
    """The actions and (when recorded) player poses of one contractor recording, one per frame."""

    actions: list[dict[str, Any]]  # MineRL action dicts taken at each frame
    null: np.ndarray  # (T,) bool: the frame's action does nothing (VPT drops these when training)
    poses: np.ndarray | None  # (T, 5) float32 x, y, z, yaw, pitch, or None when the lines lack them
    gui_open: np.ndarray  # (T,) bool


def line_to_action(line: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """One jsonl line -> (MineRL action dict, is_null) as VPT's json_action_to_env_action."""
    action, null = noop_action(), True
    for key in line["keyboard"]["keys"]:
        if key in KEYBOARD:
            action[KEYBOARD[key]] = 1
            null = False
    mouse = line["mouse"]
    camera = (
        np.array([mouse["dy"], mouse["dx"]], np.float32) * CAMERA_DEGREES_PER_PIXEL
    )  # (pitch, yaw)
    if mouse["dx"] != 0 or mouse["dy"] != 0:
        null = False
    action["camera"] = np.clip(camera, -180.0, 180.0)
    for button, name in MOUSE_BUTTONS.items():
        if button in mouse["buttons"]:
            action[name] = 1
            null = False
    return action, null


def _missing(line: Any) -> str | None:
    """The first required key `line` lacks or holds with the wrong type (None: it is complete)."""
    if not isinstance(line, dict):
        return "mouse"
    for section, keys in REQUIRED.items():
        if not isinstance(line.get(section), dict):
            return section
        for key, types in keys.items():
            value = line[section].get(key)
            if not isinstance(value, types):
                return f"{section}.{key}"
    return None


def read_lines(jsonl: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a contractor .jsonl, each checked to hold the input the conversion
    reads; a RecordingError names the file and line of the first that does not."""
    lines = []
    for n, text in enumerate(Path(jsonl).read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as err:
            raise RecordingError(
                f"{jsonl} line {n}: not valid JSON ({err.msg}, column {err.colno}); the file is "
                f"cut or damaged: download it again or delete the line"
            ) from err
        missing = _missing(line)
        if missing:
            raise RecordingError(
                f"{jsonl} line {n}: no valid '{missing}' (needed: {_needed()}); "
                f"is this a VPT contractor recording?"
            )
        lines.append(line)
    if not lines:
        raise RecordingError(
            f"{jsonl} holds no action lines; expected one JSON object per video frame"
        )
    return lines


def _needed() -> str:
    return ", ".join(f"{section}.{key}" for section, keys in REQUIRED.items() for key in keys)


def read_recording(jsonl: str | Path) -> Recording:
    """Parse a contractor .jsonl into per-frame MineRL actions."""
    lines = read_lines(jsonl)
    actions, null = [], []
    attack_stuck = lines[0]["mouse"].get("newButtons") == [0]
    last_hotbar = 0
    for i, line in enumerate(lines):
        if i > 0 and attack_stuck and 0 in line["mouse"].get("newButtons", []):
            attack_stuck = False  # attack pressed anew: it was not stuck after all
        if attack_stuck:
            line = {
                **line,
                "mouse": {
                    **line["mouse"],
                    "buttons": [b for b in line["mouse"]["buttons"] if b != 0],
                },
            }
        action, is_null = line_to_action(line)
        hotbar = int(line.get("hotbar", last_hotbar))
        if hotbar != last_hotbar:  # scroll-wheel selection is not in the keys
            action[f"hotbar.{hotbar + 1}"] = 1
            is_null = False
        last_hotbar = hotbar
        actions.append(action)
        null.append(is_null)
    has_pose = all(k in line for line in lines for k in POSE_KEYS)
    poses = (
        np.array([[line[k] for k in POSE_KEYS] for line in lines], np.float32) if has_pose else None
    )
    gui = np.array([bool(line.get("isGuiOpen", False)) for line in lines])
    return Recording(actions=actions, null=np.array(null, bool), poses=poses, gui_open=gui)
