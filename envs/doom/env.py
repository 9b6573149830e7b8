"""ViZDoom as a worldsim env: RGB frames with depth, labelled objects and camera pose as truth."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

from envs import base
from envs.doom import camera
from envs.doom.captions import describe_episode
from envs.doom.explore import Explorer
from envs.resize import resize_nearest, resize_rgb, scale_intrinsics

# Discrete macro actions: name -> (forward, backward, strafe left, strafe right, turn sign, attack).
ACTIONS: dict[str, tuple[int, int, int, int, int, int]] = {
    "noop": (0, 0, 0, 0, 0, 0),
    "forward": (1, 0, 0, 0, 0, 0),
    "backward": (0, 1, 0, 0, 0, 0),
    "turn_left": (0, 0, 0, 0, 1, 0),
    "turn_right": (0, 0, 0, 0, -1, 0),
    "strafe_left": (0, 0, 1, 0, 0, 0),
    "strafe_right": (0, 0, 0, 1, 0, 0),
    "forward_left": (1, 0, 0, 0, 1, 0),
    "forward_right": (1, 0, 0, 0, -1, 0),
    "attack": (0, 0, 0, 0, 0, 1),
}
ACTION_NAMES = list(ACTIONS)

# Game variables read every step, in this order (camera pose for truth, the rest for events).
VARIABLES = [
    "CAMERA_POSITION_X",
    "CAMERA_POSITION_Y",
    "CAMERA_POSITION_Z",
    "CAMERA_ANGLE",
    "CAMERA_FOV",
    "HEALTH",
    "KILLCOUNT",
]

# 4:3 render sizes (ViZDoom's field of view is horizontal for 4:3), smallest first.
RENDER_SIZES = [
    (160, 120),
    (200, 150),
    (320, 240),
    (400, 300),
    (640, 480),
    (800, 600),
    (1024, 768),
    (1280, 960),
    (1600, 1200),
]


def render_size(width: int, height: int) -> tuple[int, int]:
    """Smallest 4:3 ViZDoom resolution at least (width, height); frames are then resized down."""
    for w, h in RENDER_SIZES:
        if w >= width and h >= height:
            return w, h
    raise ValueError(
        f"Doom frames of {width}x{height} exceed the largest render size {RENDER_SIZES[-1]}; "
        "ask for a smaller env.width/env.height"
    )


def _make_game(scenario: str, render_wh: tuple[int, int], render_weapon: bool):
    """A configured (not yet started) vizdoom.DoomGame for a scenario name or .cfg path."""
    import vizdoom as vzd

    cfg_path = (
        scenario
        if os.path.isfile(scenario)
        else os.path.join(vzd.scenarios_path, f"{scenario}.cfg")
    )
    if not os.path.isfile(cfg_path):
        raise ValueError(
            f"unknown Doom scenario {scenario!r}: no {cfg_path}; use a name from "
            f"{vzd.scenarios_path} (e.g. my_way_home) or a .cfg path"
        )
    game = vzd.DoomGame()
    game.load_config(cfg_path)
    game.set_window_visible(False)
    game.set_mode(vzd.Mode.PLAYER)
    game.set_screen_resolution(getattr(vzd.ScreenResolution, f"RES_{render_wh[0]}X{render_wh[1]}"))
    game.set_screen_format(vzd.ScreenFormat.RGB24)
    game.set_depth_buffer_enabled(True)
    game.set_labels_buffer_enabled(True)
    game.set_objects_info_enabled(True)
    game.set_render_hud(False)
    game.set_render_crosshair(False)
    game.set_render_weapon(render_weapon)
    game.set_render_screen_flashes(False)
    B = vzd.Button
    game.set_available_buttons(
        [
            B.MOVE_FORWARD,
            B.MOVE_BACKWARD,
            B.MOVE_LEFT,
            B.MOVE_RIGHT,
            B.TURN_LEFT_RIGHT_DELTA,
            B.ATTACK,
        ]
    )
    game.set_available_game_variables([getattr(vzd.GameVariable, v) for v in VARIABLES])
    return game


class DoomEnv(base.WorldsimEnv):
    """One ViZDoom scenario; `scenario` is a .cfg name of ViZDoom's bundled scenarios or a path."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": camera.TICRATE / 2}

    def __init__(
        self,
        scenario: str = "my_way_home",
        *,
        width: int = 64,
        height: int = 64,
        render_mode: str = "rgb_array",
        frame_skip: int = 2,
        turn_degrees: float = 10.0,
        render_weapon: bool = True,
        max_objects: int = 256,
    ):
        if frame_skip < 1 or turn_degrees <= 0:
            raise ValueError(
                "DoomEnv needs frame_skip >= 1 and turn_degrees > 0, "
                f"got {frame_skip}, {turn_degrees}"
            )
        self.scenario, self.width, self.height = scenario, width, height
        self.render_mode, self.frame_skip, self.turn_degrees = render_mode, frame_skip, turn_degrees
        self.max_objects = max_objects
        self.metadata = {**DoomEnv.metadata, "render_fps": camera.TICRATE / frame_skip}
        self.render_wh = render_size(width, height)
        self.game, self._initialised = _make_game(scenario, self.render_wh, render_weapon), False

        self.observation_space = gym.spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(len(ACTIONS))
        self.action_codec = base.DiscreteCodec(len(ACTIONS), ACTION_NAMES, noop_index=0)
        self._objects: list[base.ObjectInfo] = []
        self._index_of: dict[int, int] = {}  # ViZDoom object id -> row of the object table
        self._explorer: Explorer | None = None

    # ------------------------------------------------------------------ gymnasium API

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or not self._initialised:
            # A seeded episode starts in a fresh ViZDoom process: engine state outlives
            # new_episode() (the renderer's weapon-bob smoothing is a static), so a reused process
            # gives another episode for the same seed. The restart costs about 0.4 s.
            self.close()
            self.game.init()  # starts an episode of its own and would consume a seed set before
            self._initialised = True
        self.game.set_seed(int(self.np_random.integers(2**31 - 1)))  # applies to the next episode
        self.game.new_episode()
        state = self.game.get_state()
        self._objects, self._index_of = [], {}
        counts: dict[str, int] = {}
        for obj in state.objects[: self.max_objects]:
            k = counts[obj.name] = counts.get(obj.name, 0) + 1
            self._index_of[obj.id] = len(self._objects)
            self._objects.append(
                base.ObjectInfo(
                    id=len(self._objects), name=f"{obj.name.lower()}_{k}", category=obj.name
                )
            )
        self._last_position = np.zeros((len(self._objects), 3), np.float32)
        self._present = np.zeros(len(self._objects), bool)
        self._vars = dict(zip(VARIABLES, state.game_variables))
        self._explorer = Explorer(np.random.default_rng(int(self.np_random.integers(2**31 - 1))))
        obs, truth, events = self._observe(state)
        return obs, {"truth": truth, "events": events}

    def step(self, action):
        name = ACTION_NAMES[int(action)]
        fwd, back, left, right, turn, attack = ACTIONS[name]
        # TURN_LEFT_RIGHT_DELTA turns right by its value on every tic of the step.
        delta = -turn * self.turn_degrees / self.frame_skip
        reward = self.game.make_action([fwd, back, left, right, delta, attack], self.frame_skip)
        if self.game.is_episode_finished():
            terminated = not self.game.is_episode_timeout_reached()
            events = (
                [base.Event("death")] if self.game.is_player_dead() else [base.Event("episode_end")]
            )
            return (
                self._last_obs,
                float(reward),
                terminated,
                not terminated,
                {"truth": self._last_truth, "events": events},
            )
        obs, truth, events = self._observe(self.game.get_state())
        return obs, float(reward), False, False, {"truth": truth, "events": events}

    def render(self):
        return self._last_obs

    def close(self):
        if self._initialised:
            self.game.close()
            self._initialised = False

    # ------------------------------------------------------------------ worldsim API

    def object_table(self) -> list[base.ObjectInfo]:
        return list(self._objects)

    def scripted_action(self) -> int:
        """Exploration that returns to earlier places and looks around there (see explore.py)."""
        v = self._vars
        name = self._explorer.act(
            np.array([v["CAMERA_POSITION_X"], v["CAMERA_POSITION_Y"]]),
            v["CAMERA_ANGLE"],
            self.turn_degrees,
        )
        return ACTION_NAMES.index(name)

    def caption(self, record: dict[str, Any]) -> base.Captions:
        return describe_episode(record, self.scenario)

    # ------------------------------------------------------------------ truth

    def _observe(self, state) -> tuple[np.ndarray, base.FrameTruth, list[base.Event]]:
        """Frame, truth and events of a ViZDoom state, resized to the requested resolution."""
        prev = self._vars
        v = self._vars = dict(zip(VARIABLES, state.game_variables))
        w, h = self.width, self.height
        position = np.array(
            [v["CAMERA_POSITION_X"], v["CAMERA_POSITION_Y"], v["CAMERA_POSITION_Z"]]
        )
        extr = camera.extrinsics(position * camera.METRES_PER_UNIT, v["CAMERA_ANGLE"])
        k = scale_intrinsics(
            camera.intrinsics(*self.render_wh, v["CAMERA_FOV"]), self.render_wh, (w, h)
        )
        value_to_row = {
            lab.value: self._index_of.get(lab.object_id, base.BACKGROUND_ID) for lab in state.labels
        }
        lut = np.full(256, base.BACKGROUND_ID, np.int16)
        for value, row in value_to_row.items():
            lut[value] = row
        instance = resize_nearest(lut[state.labels_buffer], w, h)  # (H, W) int16
        depth = resize_nearest(camera.depth_metres(state.depth_buffer), w, h)  # (H, W) float32
        obs = resize_rgb(state.screen_buffer, w, h)  # (H, W, 3) uint8

        present, velocity = self._track_objects(state.objects)
        events = [
            base.Event("removed", (int(row),), {"name": self._objects[row].name})
            for row in np.nonzero(self._present & ~present)[0]
        ]
        self._present = present
        events += _variable_events(prev, v)
        objects = base.ObjectStates.from_instance_map(
            instance, [o.id for o in self._objects], self._last_position.copy(), velocity
        )
        extras = {
            "health": np.array([v["HEALTH"]], np.float32),
            "kills": np.array([v["KILLCOUNT"]], np.float32),
            "present": present.astype(np.float32),
        }
        truth = base.FrameTruth(
            extrinsics=extr,
            intrinsics=k,
            depth=depth,
            instance=instance,
            objects=objects,
            extras=extras,
        )
        self._last_obs, self._last_truth = obs, truth
        return obs, truth, events

    def _track_objects(self, objects) -> tuple[np.ndarray, np.ndarray]:
        """Which table objects are present (N,) and their velocities (N, 3) in m/s; remembers the
        last position of each."""
        present = np.zeros(len(self._objects), bool)
        velocity = np.zeros((len(self._objects), 3), np.float32)
        for obj in objects:
            row = self._index_of.get(obj.id)
            if row is None:
                continue
            present[row] = True
            self._last_position[row] = (
                np.array([obj.position_x, obj.position_y, obj.position_z]) * camera.METRES_PER_UNIT
            )
            velocity[row] = np.array([obj.velocity_x, obj.velocity_y, obj.velocity_z]) * (
                camera.METRES_PER_UNIT * camera.TICRATE
            )  # map units per tic -> m/s
        return present, velocity


def _variable_events(prev: dict[str, float], now: dict[str, float]) -> list[base.Event]:
    """Damage, healing and kills between two readings of the game variables."""
    events = []
    health, before = float(now["HEALTH"]), float(prev["HEALTH"])
    if health < before:
        events.append(
            base.Event(
                "damage", (), {"health": health, "lost": float(prev["HEALTH"] - now["HEALTH"])}
            )
        )
    elif health > before:
        events.append(
            base.Event(
                "heal", (), {"health": health, "gained": float(now["HEALTH"] - prev["HEALTH"])}
            )
        )
    if now["KILLCOUNT"] > prev["KILLCOUNT"]:
        events.append(base.Event("kill", (), {"kills": float(now["KILLCOUNT"])}))
    return events
