"""The MuJoCo scenarios: Bounce, Collide, Occlude, Orbit, Push (each a registered Gymnasium env)."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from envs.base import BoxCodec, Captions, DiscreteCodec
from envs.captions import describe_push_episode, push_sentences
from envs.mujoco.camera import OrbitPose
from envs.mujoco.env import MujocoSceneEnv
from envs.mujoco.scenes import (
    AGENT_COLOUR,
    OCCLUDER_COLOURS,
    PALETTE,
    SHAPES,
    ObjectSpec,
    OccluderSpec,
    SceneSpec,
)

NOMINAL_GRAVITY = -9.81  # launch velocities are aimed under this gravity, whatever the physics knob


# ------------------------------------------------------------------ shared scene pieces


def random_size(
    rng: np.random.Generator, shape: str, scale: tuple[float, float]
) -> tuple[float, ...]:
    """MuJoCo geom size of a `shape` whose half extent lies in `scale` (metres)."""
    if shape == "sphere":
        return (float(rng.uniform(*scale)),)
    if shape == "box":
        return tuple(float(x) for x in rng.uniform(*scale, size=3))
    return float(rng.uniform(*scale)), float(rng.uniform(*scale))


def make_objects(
    rng: np.random.Generator,
    n: int,
    shapes: tuple[str, ...] = SHAPES,
    scale: tuple[float, float] = (0.1, 0.2),
) -> list[ObjectSpec]:
    """`n` objects of distinct colours, placed at the origin (callers position them)."""
    colours = rng.choice(list(PALETTE), size=n, replace=False)
    out = []
    for colour in colours:
        shape = str(rng.choice(shapes))
        out.append(
            ObjectSpec(
                name=f"{colour}_{shape}",
                shape=shape,
                colour=str(colour),
                size=random_size(rng, shape, scale),
                position=(0.0, 0.0, 0.0),
                yaw=float(rng.uniform(0, np.pi)),
            )
        )
    return out


def place_apart(
    rng: np.random.Generator,
    objects: list[ObjectSpec],
    low: np.ndarray,
    high: np.ndarray,
    tries: int = 200,
) -> list[ObjectSpec]:
    """The objects moved to uniform positions in the box [low, high] (lifted by their half height),
    not overlapping."""
    placed: list[tuple[np.ndarray, float]] = []
    out = []
    for obj in objects:
        reach = float(np.linalg.norm(obj.size)) if obj.shape != "sphere" else obj.size[0]
        for _ in range(tries):
            p = rng.uniform(low, high)
            p[2] += obj.half_height
            if all(np.linalg.norm(p - q) > reach + r + 0.05 for q, r in placed):
                break
        placed.append((p, reach))
        out.append(dataclasses.replace(obj, position=tuple(float(x) for x in p)))
    return out


def default_camera(
    rng: np.random.Generator,
    pitch: tuple[float, float] = (0.35, 0.6),
    distance: tuple[float, float] = (2.3, 2.8),
) -> OrbitPose:
    return OrbitPose(
        target=(0.0, 0.0, 0.3),
        yaw=float(rng.uniform(-np.pi, np.pi)),
        pitch=float(rng.uniform(*pitch)),
        distance=float(rng.uniform(*distance)),
    )


def horizontal_axes(pose: OrbitPose) -> tuple[np.ndarray, np.ndarray]:
    """(right, towards-camera) unit vectors on the floor plane for a camera pose."""
    towards = np.array([np.cos(pose.yaw), np.sin(pose.yaw), 0.0])
    right = np.array([-np.sin(pose.yaw), np.cos(pose.yaw), 0.0])
    return right, towards


def floor_command(floor: np.ndarray, pose: OrbitPose) -> np.ndarray:
    """A floor vector (2 or 3,) -> the Push command (right, forward) pointing along it, unscaled:
    the inverse of `PushEnv.apply_action`'s camera-relative mapping."""
    right, towards = horizontal_axes(pose)
    return np.array([floor[:2] @ right[:2], -(floor[:2] @ towards[:2])])


# ------------------------------------------------------------------ scenarios


class ManyObjectsEnv(MujocoSceneEnv):
    """A scenario whose scenes hold a random number of objects, at most `max_objects`."""

    def __init__(self, max_objects: int = 3, **kwargs: Any):
        self.max_objects = max_objects
        super().__init__(**kwargs)


class BounceEnv(ManyObjectsEnv):
    """1-`max_objects` spheres, boxes and cylinders dropped from 0.3-1.5 m; they fall, bounce and
    settle."""

    scenario = "bounce"

    def generate(self, rng: np.random.Generator) -> SceneSpec:
        objects = make_objects(rng, int(rng.integers(1, self.max_objects + 1)))
        objects = place_apart(rng, objects, np.array([-0.8, -0.8, 0.3]), np.array([0.8, 0.8, 1.5]))
        objects = [
            dataclasses.replace(
                o,
                restitution=self.physics.restitution,
                velocity=(*rng.uniform(-0.3, 0.3, size=2), 0.0),
            )
            for o in objects
        ]
        return SceneSpec(objects=objects, camera=default_camera(rng))


class CollideEnv(ManyObjectsEnv):
    """2-`max_objects` objects thrown on arcs aimed (under standard gravity) to meet at one point in
    the air."""

    scenario = "collide"

    def generate(self, rng: np.random.Generator) -> SceneSpec:
        objects = make_objects(rng, int(rng.integers(2, self.max_objects + 1)), scale=(0.1, 0.16))
        meet = np.array([*rng.uniform(-0.4, 0.4, size=2), rng.uniform(0.4, 0.8)])
        t_meet = float(rng.uniform(0.5, 0.9))
        start_angle = rng.uniform(0, 2 * np.pi)
        out = []
        for k, obj in enumerate(objects):
            angle = start_angle + 2 * np.pi * k / len(objects) + rng.uniform(-0.3, 0.3)
            radius = rng.uniform(0.8, 1.2)
            start = meet + [radius * np.cos(angle), radius * np.sin(angle), 0.0]
            start[2] = rng.uniform(0.1, 0.6) + obj.half_height
            velocity = (meet - start) / t_meet - [0.0, 0.0, 0.5 * NOMINAL_GRAVITY * t_meet]
            out.append(
                dataclasses.replace(
                    obj,
                    position=tuple(start),
                    velocity=tuple(velocity),
                    restitution=self.physics.restitution,
                )
            )
        return SceneSpec(objects=out, camera=default_camera(rng))


class OccludeEnv(MujocoSceneEnv):
    """Balls roll behind a wall and come out the other side; in `pan_probability` of seeds the
    camera also pans away at `pan_start` seconds and back, so objects leave the view and return."""

    scenario = "occlude"

    def __init__(
        self,
        pan_probability: float = 0.5,
        pan_start: float = 1.8,
        pan_angle: float = 1.1,
        **kwargs: Any,
    ):
        self.pan_probability, self.pan_start, self.pan_angle = pan_probability, pan_start, pan_angle
        super().__init__(**kwargs)

    def generate(self, rng: np.random.Generator) -> SceneSpec:
        camera = default_camera(rng, pitch=(0.3, 0.42))
        right, towards = horizontal_axes(camera)
        centre = np.array([camera.target[0], camera.target[1], 0.0])
        wall_u = float(rng.uniform(-0.2, 0.2))
        half_width = float(rng.uniform(0.3, 0.4))
        wall = centre + wall_u * right + 0.4 * towards
        occ = OccluderSpec(
            name="wall",
            colour=str(rng.choice(list(OCCLUDER_COLOURS))),
            size=(0.05, half_width, 0.35),
            position=(wall[0], wall[1], 0.35),
            yaw=camera.yaw,
        )
        movers = make_objects(rng, int(rng.integers(1, 3)), shapes=("sphere",), scale=(0.1, 0.15))
        objects = []
        for k, obj in enumerate(movers):
            lane = centre - (0.1 + 0.35 * k) * towards
            side = rng.choice([-1.0, 1.0])
            start_u = wall_u + side * rng.uniform(0.8, 1.0)
            t_cross = rng.uniform(0.6, 1.0)
            speed = abs(start_u - wall_u) / t_cross
            start = lane + start_u * right
            start[2] = obj.size[0]
            objects.append(
                dataclasses.replace(
                    obj,
                    position=tuple(start),
                    velocity=tuple(-side * speed * right),
                    restitution=self.physics.restitution,
                )
            )
        self._pan_sign = (
            float(rng.choice([-1.0, 1.0])) if rng.uniform() < self.pan_probability else 0.0
        )
        return SceneSpec(objects=objects, camera=camera, occluders=[occ])

    def camera_pose(self, t: int) -> OrbitPose:
        """Still, or pan out (0.5 s), hold (0.3 s) and pan back (0.5 s) from `pan_start`."""
        s = t * self.physics.frame_dt - self.pan_start
        ramp = float(np.clip(s / 0.5, 0, 1) - np.clip((s - 0.8) / 0.5, 0, 1))
        smooth = ramp * ramp * (3 - 2 * ramp)
        return dataclasses.replace(self.scene.camera, pan=self._pan_sign * self.pan_angle * smooth)


class _ActionScene(MujocoSceneEnv):
    """A scenario whose actions are named axes: a Box in [-1, 1] or a Discrete of +/- moves per
    axis."""

    axes: tuple[str, ...] = ()

    def make_actions(self, action_mode: str):
        if action_mode == "discrete":
            names = ["noop"] + [f"{a}{s}" for a in self.axes for s in "-+"]
            return gym.spaces.Discrete(len(names)), DiscreteCodec(len(names), names)
        space = gym.spaces.Box(-1.0, 1.0, (len(self.axes),), np.float32)
        return space, BoxCodec(space, list(self.axes))

    def axis_values(self, action: Any) -> np.ndarray:
        """Raw action -> per-axis command in [-1, 1], (len(axes),)."""
        if self.action_mode == "discrete":
            out = np.zeros(len(self.axes))
            if int(action) > 0:
                out[(int(action) - 1) // 2] = 1.0 if (int(action) - 1) % 2 else -1.0
            return out
        return np.clip(np.asarray(action, np.float64), -1.0, 1.0)

    def from_axes(self, values: np.ndarray) -> Any:
        """Per-axis command (one non-zero unit axis, or zeros) -> raw action of this action mode."""
        if self.action_mode == "continuous":
            return np.asarray(values, np.float32)
        nz = np.flatnonzero(values)
        return 0 if len(nz) == 0 else int(1 + 2 * nz[0] + (values[nz[0]] > 0))


class OrbitEnv(_ActionScene):
    """A static scene; actions move the camera (yaw, pitch, dolly). The scripted policy flies closed
    loops of moves, so the camera revisits its starting view every `loop` frames."""

    scenario = "orbit"
    axes = ("yaw", "pitch", "dolly")
    STEP = np.array([0.08, 0.04, 0.1])  # rad, rad, metres per frame at full command
    PITCH, DISTANCE = (0.12, 1.3), (1.8, 5.0)

    def __init__(self, loop: int = 24, **kwargs: Any):
        self.loop = loop
        super().__init__(**kwargs)

    def generate(self, rng: np.random.Generator) -> SceneSpec:
        objects = make_objects(rng, int(rng.integers(2, 5)))
        objects = [
            dataclasses.replace(o, restitution=0.2) for o in objects
        ]  # a still scene: no rocking
        pillar = ObjectSpec(
            name="pillar", shape="box", colour="", size=(0.12, 0.12, 0.4), position=(0, 0, 0)
        )
        pillar, *objects = place_apart(
            rng, [pillar, *objects], np.array([-0.9, -0.9, 0.0]), np.array([0.9, 0.9, 0.0])
        )
        occluders = []
        if rng.uniform() < 0.5:
            occluders.append(
                OccluderSpec(
                    name="pillar",
                    colour=str(rng.choice(list(OCCLUDER_COLOURS))),
                    size=pillar.size,
                    position=pillar.position,
                )
            )
        self._plan: list[np.ndarray] = []
        self._plan_rng = np.random.default_rng(rng.integers(2**32))
        return SceneSpec(
            objects=objects, camera=default_camera(rng, pitch=(0.4, 0.8)), occluders=occluders
        )

    def apply_action(self, action: Any) -> None:
        d = self.axis_values(action) * self.STEP
        p = self.pose
        self.pose = dataclasses.replace(
            p,
            yaw=p.yaw + d[0],
            pitch=float(np.clip(p.pitch + d[1], *self.PITCH)),
            distance=float(np.clip(p.distance + d[2], *self.DISTANCE)),
        )

    def camera_pose(self, t: int) -> OrbitPose:
        return self.pose

    def scripted_action(self) -> Any:
        """Next move of a closed loop: k moves along two axes, then the same moves undone in
        reverse."""
        if not self._plan:
            axes = self._plan_rng.choice(len(self.axes), size=2, replace=False)
            half = []
            for a, k in zip(
                axes, self._plan_rng.integers(2, self.loop // 4 + 1, size=2), strict=True
            ):
                move = np.zeros(len(self.axes))
                move[a] = self._plan_rng.choice([-1.0, 1.0])
                half += [move] * int(k)
            half = half[: self.loop // 2]
            rest = self.loop - 2 * len(half)
            self._plan = half + [-m for m in reversed(half)] + [np.zeros(len(self.axes))] * rest
        return self.from_axes(self._plan.pop(0))


class PushEnv(_ActionScene):
    """A black cylinder agent, driven by actions (right/forward relative to the camera), pushes
    objects."""

    scenario = "push"
    axes = ("right", "forward")

    def __init__(
        self,
        speed: float = 1.2,
        gain: float = 400.0,
        arena: float = 2.0,
        pitch: tuple[float, float] = (0.35, 0.6),
        distance: tuple[float, float] = (2.3, 2.8),
        captions: str = "scene",
        wander: float = 0.0,
        **kwargs: Any,
    ):
        """`speed`: m/s at full command; `gain`: the velocity actuators' kv (N s/m; the 27 kg
        agent reaches a new command with time constant 27 / gain s); `arena`: half side of the
        walled floor, metres (objects start within 1 m of the centre); `pitch`, `distance`: the
        camera's elevation (radians) and distance (metres) ranges; `captions`: "scene" (the
        physics scenes' open grammar) or "directions" (a closed vocabulary of where the puck and
        the objects it pushes go, camera-relative: what prompt control asks for); `wander`: the
        share of the scripted player's 30-frame segments that hold a random direction at full
        command instead of heading for an object (0: always an object, the bench's data)."""
        if captions not in ("scene", "directions"):
            raise ValueError(f"push captions={captions!r}; choose scene or directions")
        if not (speed > 0 and gain > 0 and arena >= 1.2 and 0 < pitch[0] <= pitch[1] < 1.5):
            raise ValueError(
                f"push speed={speed} gain={gain} arena={arena} pitch={pitch}; need speed, gain "
                "> 0, arena >= 1.2 and 0 < pitch[0] <= pitch[1] < 1.5"
            )
        if not 1.0 <= distance[0] <= distance[1]:
            raise ValueError(f"push distance={distance}; need 1 <= distance[0] <= distance[1]")
        self.speed, self.gain, self.arena = speed, gain, arena
        self.pitch, self.distance = tuple(pitch), tuple(distance)
        if not 0.0 <= wander <= 1.0:
            raise ValueError(f"push wander={wander}; need a share in [0, 1]")
        self.captions, self.wander = captions, wander
        super().__init__(**kwargs)

    def caption(self, record: dict[str, Any]) -> Captions:
        if self.captions == "scene":
            return super().caption(record)
        right, towards = horizontal_axes(self.pose)
        return describe_push_episode(record, self.scene_facts(), right, towards)

    def caption_sentences(self) -> list[str]:
        """Every sentence a captions="directions" episode can hold (for `worldsim embed-text`)."""
        if self.captions != "directions":
            raise ValueError(
                'push captions="scene" are open-ended; captions="directions" is closed'
            )
        return push_sentences(list(PALETTE), SHAPES)

    def generate(self, rng: np.random.Generator) -> SceneSpec:
        objects = make_objects(rng, int(rng.integers(1, 4)), scale=(0.12, 0.18))
        agent = ObjectSpec(
            name="agent",
            shape="cylinder",
            colour=AGENT_COLOUR[0],
            size=(0.12, 0.15),
            position=(0.0, 0.0, 0.0),
            density=2000.0,
            restitution=0.2,
        )
        agent, *objects = place_apart(
            rng, [agent, *objects], np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 0.0])
        )
        agent = dataclasses.replace(
            agent, position=agent.position[:2] + (agent.half_height + 0.001,)
        )
        objects = [dataclasses.replace(o, restitution=0.2) for o in objects]
        self._target, self._target_until, self._heading = 0, 0, None
        self._script_rng = np.random.default_rng(rng.integers(2**32))
        return SceneSpec(
            objects=objects,
            camera=default_camera(rng, pitch=self.pitch, distance=self.distance),
            agent=agent,
            arena=self.arena,
            agent_gain=self.gain,
            agent_max_speed=max(1.5, 1.25 * self.speed),
        )

    def apply_action(self, action: Any) -> None:
        right, towards = horizontal_axes(self.pose)
        cmd = self.axis_values(action)
        world = self.speed * (cmd[0] * right - cmd[1] * towards)
        self.data.ctrl[:2] = world[:2]

    def scripted_action(self) -> Any:
        """Head for an object (a new one every 30 frames) and push through it; with probability
        `wander` a segment holds a random direction instead (the puck goes the way its caption
        says from rest, not only towards objects: prompt_control RESULTS section 8)."""
        if self.t >= self._target_until:
            self._target = int(self._script_rng.integers(len(self.scene.objects)))
            self._target_until = self.t + 30
            self._heading = None  # the bench's stream (wander 0) draws nothing more
            if self.wander > 0 and self._script_rng.random() < self.wander:
                angle = self._script_rng.uniform(0, 2 * np.pi)
                self._heading = np.array([np.cos(angle), np.sin(angle)])
        if self._heading is not None:
            cmd = self._heading / np.abs(self._heading).max()
        else:
            agent = self.data.xpos[self._body_ids[-1]]
            goal = self.data.xpos[self._body_ids[self._target]]
            cmd = floor_command(goal - agent, self.pose)
            cmd = cmd / max(np.abs(cmd).max(), 1e-6)
        if self.action_mode == "discrete":
            axis = int(np.argmax(np.abs(cmd)))
            one = np.zeros(2)
            one[axis] = np.sign(cmd[axis])
            return self.from_axes(one)
        return np.clip(cmd + self._script_rng.normal(0, 0.1, 2), -1, 1).astype(np.float32)
