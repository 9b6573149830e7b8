"""MineRL 1.0 adapter: a MineRL env behind the worldsim API (POV frames, dict actions with camera).

MineRL needs Java 8 and builds Minecraft from the internet on first install, so it is imported
only when an env is made; its old-Gym API (`reset() -> obs`, `step -> (obs, reward, done, info)`)
is wrapped into Gymnasium's.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.base import Captions, FrameTruth, WorldsimEnv
from envs.minerl.actions import MineRLCodec, action_space
from envs.minerl.camera import intrinsics
from envs.minerl.captions import describe_minecraft
from envs.resize import resize_rgb

INSTALL_HINT = (
    "MineRL is not installed. It needs Java 8 (JDK) and internet access to build Minecraft: "
    "install a JDK 8, then `pip install git+https://github.com/minerllabs/minerl@v1.0.2` "
    "(PyPI's `minerl` is the older 0.4 API)."
)

TASKS = {  # MineRL 1.0 env id -> (scene caption, short prompt)
    "MineRLBasaltFindCave-v0": ("First-person Minecraft footage in the overworld.", "find a cave"),
    "MineRLBasaltMakeWaterfall-v0": (
        "First-person Minecraft footage in the mountains.",
        "make a waterfall",
    ),
    "MineRLBasaltCreateVillageAnimalPen-v0": (
        "First-person Minecraft footage in a village.",
        "build an animal pen",
    ),
    "MineRLBasaltBuildVillageHouse-v0": (
        "First-person Minecraft footage in a village.",
        "build a house",
    ),
    "MineRLObtainDiamondShovel-v0": (
        "First-person Minecraft footage in survival mode.",
        "obtain a diamond shovel",
    ),
}


def make_minerl(minerl_id: str) -> Any:
    """Build the MineRL env `minerl_id` (imports gym and minerl, which registers its ids)."""
    try:
        import gym as old_gym
        import minerl  # noqa: F401  (registers the MineRL ids with gym)
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from err
    return old_gym.make(minerl_id)


class MineRLEnv(WorldsimEnv):
    """Frames are MineRL's "pov" resized to (height, width); truth is the camera intrinsics."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        minerl_id: str = "MineRLBasaltFindCave-v0",
        width: int = 128,
        height: int = 72,
        render_mode: str | None = "rgb_array",  # frames are observations whatever it is
        vfov: float = 70.0,
    ):
        self.minerl_id = minerl_id
        self.width, self.height = width, height
        self.render_mode = render_mode
        self.vfov = vfov
        self.observation_space = gym.spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.action_space = action_space()
        self.action_codec = MineRLCodec()
        self._env = make_minerl(minerl_id)
        self._last = np.zeros((height, width, 3), np.uint8)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._env.seed(seed)
        obs = self._env.reset()
        return self._frame(obs), {"truth": self._truth(obs), "events": []}

    def step(self, action: dict[str, Any]):
        action = self.action_codec.decode(
            self.action_codec.encode(action)
        )  # fill missing keys, clip camera
        obs, reward, done, info = self._env.step(action)
        return (
            self._frame(obs),
            float(reward),
            bool(done),
            False,
            {"truth": self._truth(obs), "events": []},
        )

    def render(self):
        return self._last

    def close(self):
        self._env.close()

    def caption(self, record: dict[str, Any]) -> Captions:
        scene, prompt = TASKS.get(
            self.minerl_id, ("First-person Minecraft footage.", "play Minecraft")
        )
        return describe_minecraft(record, scene, prompt)

    def _frame(self, obs: dict[str, Any]) -> np.ndarray:
        pov = np.asarray(obs["pov"], np.uint8)  # (360, 640, 3) in MineRL 1.0
        if pov.ndim != 3 or pov.shape[-1] != 3:
            raise ValueError(f"MineRL pov has shape {pov.shape}, expected (H, W, 3) uint8")
        self._last = resize_rgb(pov, self.width, self.height)
        return self._last

    def _truth(self, obs: dict[str, Any]) -> FrameTruth:
        h, w = np.asarray(obs["pov"]).shape[:2]
        return FrameTruth(
            intrinsics=intrinsics(self.width, self.height, self.vfov, native_aspect=w / h)
        )
