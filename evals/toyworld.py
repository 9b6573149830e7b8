"""A tiny ray-cast physics world with exact truth, for fast CPU validity tests of the suites.

Balls bounce under gravity on a checkered floor inside a square pen; an optional grey wall
occludes part of the view; the camera may orbit (so views are revisited). Ball 0 is steered
by the action (its horizontal velocity), the others are passive. Rendering is analytic
(ray-sphere/plane/box in NumPy), so a 32x32 episode of 24 frames takes milliseconds, and
depth, instance ids, poses and object states are exact. The MuJoCo scenes are the real
benchmark; this world exists so every suite can be checked in CI in seconds.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.base import (
    BACKGROUND_ID,
    BoxCodec,
    Captions,
    Event,
    FrameTruth,
    ObjectInfo,
    ObjectStates,
    WorldsimEnv,
)

ENV_ID = "worldsim/EvalToy-v0"
PALETTE = [("red", (220, 40, 40)), ("blue", (40, 80, 230)), ("yellow", (230, 200, 30))]
FLOOR = ((150, 150, 150), (90, 90, 90))  # checker colours
SKY = (30, 30, 40)
WALL = (120, 70, 160)
LIGHT = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """4x4 world->camera extrinsics, OpenCV axes (x right, y down, z forward), world z up."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    ext = np.eye(4, dtype=np.float32)
    ext[:3, :3] = np.stack([x, y, z])
    ext[:3, 3] = -ext[:3, :3] @ eye
    return ext


class ToyWorldEnv(WorldsimEnv):
    """Bouncing balls seen by a pinhole camera; kwargs are the physics and scene knobs."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        width: int = 32,
        height: int = 32,
        render_mode: str = "rgb_array",
        balls: int = 2,
        gravity: float = -9.81,
        restitution: float = 0.85,
        orbit: float = 0.0,
        wall: bool = True,
        steer_speed: float = 5.0,
        radius: float = 0.45,
        half_size: float = 2.0,
        dt: float = 1 / 15,
    ):
        if not 1 <= balls <= len(PALETTE):
            raise ValueError(f"balls={balls}; ToyWorldEnv supports 1..{len(PALETTE)}")
        self.width, self.height, self.render_mode = width, height, render_mode
        self.balls, self.gravity, self.restitution, self.orbit = balls, gravity, restitution, orbit
        self.wall, self.steer_speed, self.radius, self.half = wall, steer_speed, radius, half_size
        self.dt = dt
        self.observation_space = gym.spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_codec = BoxCodec(self.action_space, names=["steer_x", "steer_y"])
        f = 0.9 * max(width, height)
        self.K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], np.float32)

    # ---------------------------------------------------------------- gym API

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        lim = self.half - self.radius
        self.pos = np.column_stack(
            [
                rng.uniform(-lim, lim, self.balls),
                rng.uniform(-lim, lim, self.balls),
                rng.uniform(1.0, 2.5, self.balls),
            ]
        )
        self.vel = np.column_stack([rng.uniform(-1.5, 1.5, (self.balls, 2)), np.zeros(self.balls)])
        self.azimuth = float(rng.uniform(0, 2 * np.pi)) if self.orbit else -np.pi / 2
        self.t = 0
        self._was_visible = None
        return self._observe([])

    def step(self, action: Any):
        a = np.clip(np.asarray(action, np.float64).reshape(2), -1, 1)
        self.vel[0, :2] = self.steer_speed * a
        self.vel[:, 2] += self.gravity * self.dt
        self.pos += self.vel * self.dt
        events = []
        for i in range(self.balls):
            if self.pos[i, 2] < self.radius and self.vel[i, 2] < 0:
                self.pos[i, 2] = 2 * self.radius - self.pos[i, 2]
                self.vel[i, 2] *= -self.restitution
                events.append(Event("bounce", (i,), {"surface": "floor"}))
            for k in range(2):
                lim = self.half - self.radius
                if abs(self.pos[i, k]) > lim:
                    self.pos[i, k] = np.sign(self.pos[i, k]) * (2 * lim - abs(self.pos[i, k]))
                    self.vel[i, k] *= -1
                    events.append(Event("contact", (i,), {"surface": "pen"}))
        self.azimuth += self.orbit
        self.t += 1
        obs, info = self._observe(events)
        return obs, 0.0, False, False, info

    def object_table(self) -> list[ObjectInfo]:
        return [
            ObjectInfo(i, f"{PALETTE[i][0]} ball", "sphere", PALETTE[i][0], PALETTE[i][1])
            for i in range(self.balls)
        ]

    def caption(self, record: dict[str, Any]) -> Captions:
        names = " and ".join(o["name"] for o in record["objects"])
        bounces = sum(e["kind"] == "bounce" for e in record["events"])
        cam = "an orbiting camera" if self.orbit else "a fixed camera"
        text = f"A {names} bounce on a checkered floor ({bounces} bounces), seen by {cam}."
        return Captions(long=text, prompt=f"{names} bouncing")

    # ---------------------------------------------------------------- rendering

    def _camera(self) -> np.ndarray:
        eye = np.array([4.5 * np.cos(self.azimuth), 4.5 * np.sin(self.azimuth), 2.6])
        return look_at(eye, np.array([0.0, 0.0, 0.4]))

    def _render(self, ext: np.ndarray):
        """Ray-cast the scene: rgb (H, W, 3) uint8, depth (H, W) metres, instance (H, W) int16."""
        with np.errstate(
            divide="ignore", invalid="ignore"
        ):  # rays that miss give inf/nan, masked below
            return self._cast(ext)

    def _cast(self, ext: np.ndarray):
        h, w = self.height, self.width
        u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        d_cam = (
            np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(self.K).T
        )  # (H, W, 3), z_cam = 1
        rot = ext[:3, :3].astype(np.float64)
        eye = -rot.T @ ext[:3, 3]
        d = d_cam @ rot  # world directions; ray parameter t is the camera-z depth
        depth = np.full((h, w), np.inf)
        inst = np.full((h, w), BACKGROUND_ID, np.int16)
        rgb = np.empty((h, w, 3))
        rgb[:] = SKY
        # floor z = 0
        t = np.where(d[..., 2] < 0, -eye[2] / np.where(d[..., 2] < 0, d[..., 2], -1), np.inf)
        hit = eye + t[..., None] * d
        on = (
            np.isfinite(t)
            & (np.abs(hit[..., 0]) < 4 * self.half)
            & (np.abs(hit[..., 1]) < 4 * self.half)
        )
        checker = (np.floor(hit[..., 0]) + np.floor(hit[..., 1])) % 2 == 0
        depth[on] = t[on]
        rgb[on] = np.where(checker[on, None], FLOOR[0], FLOOR[1])
        if self.wall:  # box x in [-1.6, -0.4], y in [-0.1, 0.1], z in [0, 1.4] (static scenery)
            lo, hi = np.array([-1.6, -0.1, 0.0]), np.array([-0.4, 0.1, 1.4])
            t0, t1 = (lo - eye) / d, (hi - eye) / d
            tn = np.nanmax(np.minimum(t0, t1), -1)
            tf = np.nanmin(np.maximum(t0, t1), -1)
            wall = (tn <= tf) & (tn > 0) & (tn < depth)
            depth[wall] = tn[wall]
            rgb[wall] = WALL
        for i in range(self.balls):
            oc = eye - self.pos[i]
            a = (d * d).sum(-1)
            b = 2 * (d * oc).sum(-1)
            c = oc @ oc - self.radius**2
            disc = b * b - 4 * a * c
            ti = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
            ball = (ti > 0) & (ti < depth)
            normal = (eye + ti[..., None] * d - self.pos[i]) / self.radius
            shade = 0.55 + 0.45 * np.clip(normal @ LIGHT, 0, 1)
            depth[ball] = ti[ball]
            inst[ball] = i
            rgb[ball] = np.asarray(PALETTE[i][1]) * shade[ball, None]
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), depth.astype(np.float32), inst

    def _observe(self, events: list[Event]):
        ext = self._camera()
        rgb, depth, inst = self._render(ext)
        states = ObjectStates.from_instance_map(inst, list(range(self.balls)), self.pos, self.vel)
        visible = states.visible > 0
        if self._was_visible is not None:
            for i in np.nonzero(visible != self._was_visible)[0]:
                events.append(
                    Event("occlusion_end" if visible[i] else "occlusion_start", (int(i),))
                )
        self._was_visible = visible
        truth = FrameTruth(
            extrinsics=ext, intrinsics=self.K.copy(), depth=depth, instance=inst, objects=states
        )
        return rgb, {"truth": truth, "events": events}

    def render(self):
        return self._render(self._camera())[0]


def register() -> None:
    """Register `worldsim/EvalToy-v0` with Gymnasium (idempotent)."""
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=ToyWorldEnv)


register()
