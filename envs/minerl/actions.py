"""MineRL 1.0 action dicts (keyboard/mouse buttons + camera) and their flat codec.

The camera entry is [pitch, yaw] in degrees (positive pitch looks down, positive yaw turns
right), limited to [-180, 180], as in MineRL 1.0's action space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BUTTONS = (
    "ESC",
    "attack",
    "back",
    "drop",
    "forward",
    "hotbar.1",
    "hotbar.2",
    "hotbar.3",
    "hotbar.4",
    "hotbar.5",
    "hotbar.6",
    "hotbar.7",
    "hotbar.8",
    "hotbar.9",
    "inventory",
    "jump",
    "left",
    "pickItem",
    "right",
    "sneak",
    "sprint",
    "swapHands",
    "use",
)
CAMERA_LIMIT = 180.0
CAMERA_UNIT = (
    10.0  # degrees per unit of the encoded camera entries, so typical turns encode near [-1, 1]
)


def noop_action() -> dict[str, Any]:
    """MineRL's no-op: no button down, camera still."""
    return {**{b: 0 for b in BUTTONS}, "camera": np.zeros(2, np.float32)}


class MineRLCodec:
    """Buttons as 0/1 entries, then camera pitch and yaw in units of CAMERA_UNIT degrees."""

    dim = len(BUTTONS) + 2
    names = [*BUTTONS, "camera_pitch", "camera_yaw"]

    def encode(self, action: dict[str, Any]) -> np.ndarray:
        vec = np.zeros(self.dim, np.float32)
        for i, button in enumerate(BUTTONS):
            vec[i] = float(np.asarray(action.get(button, 0)).item() > 0)
        camera = np.clip(
            np.asarray(action.get("camera", (0.0, 0.0)), np.float32).reshape(2),
            -CAMERA_LIMIT,
            CAMERA_LIMIT,
        )
        vec[len(BUTTONS) :] = camera / CAMERA_UNIT
        return vec

    def decode(self, vector: np.ndarray) -> dict[str, Any]:
        vector = np.asarray(vector, np.float32).reshape(self.dim)
        action = {b: int(v > 0.5) for b, v in zip(BUTTONS, vector)}
        action["camera"] = np.clip(
            vector[len(BUTTONS) :] * CAMERA_UNIT, -CAMERA_LIMIT, CAMERA_LIMIT
        ).astype(np.float32)
        return action

    def noop(self) -> dict[str, Any]:
        return noop_action()

    def describe(self) -> dict[str, Any]:
        return {
            "type": "minerl",
            "dim": self.dim,
            "names": self.names,
            "camera_unit_degrees": CAMERA_UNIT,
        }


def action_space():
    """The gymnasium Dict space of MineRL 1.0 actions."""
    import gymnasium as gym

    spaces = {b: gym.spaces.Discrete(2) for b in BUTTONS}
    spaces["camera"] = gym.spaces.Box(-CAMERA_LIMIT, CAMERA_LIMIT, (2,), np.float32)
    return gym.spaces.Dict(spaces)
