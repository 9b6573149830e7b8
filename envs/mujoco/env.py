"""`MujocoSceneEnv`: a seeded MuJoCo scene rendered with full truth; scenarios subclass it."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs import base
from envs.captions import describe_episode
from envs.mujoco.camera import OrbitPose, extrinsics, intrinsics, project
from envs.mujoco.render import SceneRenderer, mujoco
from envs.mujoco.scenes import ObjectSpec, Physics, SceneSpec, build_mjcf
from envs.mujoco.truth import projected_pixels, surface_samples

IMPACT_SPEED = 0.3  # m/s of approach below which a new contact is resting, not an event
EVENT_COOLDOWN = 0.15  # seconds before the same pair can make another contact event
OCCLUDED_BELOW, REVEALED_ABOVE = 0.1, 0.4  # visible-fraction hysteresis of occlusion events


class MujocoSceneEnv(base.WorldsimEnv):
    """A procedurally generated MuJoCo scene; subclasses choose objects, camera motion and actions.

    Physics knobs (gravity, restitution, friction, timestep, frame_skip) are constructor
    kwargs, so a counterfactual re-simulates the same seed under other physics.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    scenario = "scene"

    def __init__(
        self,
        width: int = 64,
        height: int = 64,
        render_mode: str | None = "rgb_array",
        gravity: float = -9.81,
        restitution: float = 0.7,
        friction: float = 0.6,
        timestep: float = 0.005,
        frame_skip: int = 10,
        action_mode: str = "continuous",
    ):
        if width < 8 or height < 8:
            raise ValueError(f"resolution {width}x{height} is too small; use at least 8x8")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}; MuJoCo scenes render 'rgb_array' only")
        if action_mode not in ("continuous", "discrete"):
            raise ValueError(f"action_mode={action_mode!r}; choose continuous or discrete")
        self.width, self.height, self.render_mode, self.action_mode = (
            width,
            height,
            render_mode,
            action_mode,
        )
        self.physics = Physics(gravity, restitution, friction, timestep, frame_skip)
        self.metadata = {**self.metadata, "render_fps": 1.0 / self.physics.frame_dt}
        self.observation_space = gym.spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.action_space, self.action_codec = self.make_actions(action_mode)
        self._renderer: SceneRenderer | None = None
        self._obs: np.ndarray | None = None

    # ------------------------------------------------------------ scenario hooks

    def generate(self, rng: np.random.Generator) -> SceneSpec:
        """Draw the scene of an episode from the seeded generator."""
        raise NotImplementedError

    def make_actions(self, action_mode: str) -> tuple[gym.Space, Any]:
        """Action space and codec; scenes without actions take the single no-op."""
        return gym.spaces.Discrete(1), base.DiscreteCodec(1, ["noop"])

    def apply_action(self, action: Any) -> None:
        """Act before the physics steps of a frame (move the camera or the agent)."""

    def camera_pose(self, t: int) -> OrbitPose:
        """Camera of frame t; the default holds the generated view."""
        return self.pose

    def scripted_action(self) -> Any:
        return self.action_codec.noop()

    # ------------------------------------------------------------ gymnasium API

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.scene = self.generate(self.np_random)
        self.pose = self.scene.camera
        self.model = mujoco.MjModel.from_xml_string(
            build_mjcf(self.scene, self.physics, self.width, self.height)
        )
        self.data = mujoco.MjData(self.model)
        self._index_scene()
        self._set_initial_velocities()
        mujoco.mj_forward(self.model, self.data)
        if self._renderer is None:
            self._renderer = SceneRenderer(self.width, self.height)
        self._renderer.load(self.model)
        self.t = 0
        self._pair_last: dict[tuple, float] = {}
        self._touching: set[tuple] = set()
        self._view_state: list[tuple[bool, bool]] | None = None
        self._obs, truth = self._observe()
        return self._obs, {"truth": truth, "events": self._view_events(truth)}

    def step(self, action: Any):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        self.apply_action(action)
        events: list[base.Event] = []
        for _ in range(self.physics.frame_skip):
            approach = (
                self._velocities()
            )  # contacts found by a step act on the velocities before it
            mujoco.mj_step(self.model, self.data)
            events.extend(self._contact_events(approach))
        self.t += 1
        self.pose = self.camera_pose(self.t)
        self._obs, truth = self._observe()
        events.extend(self._view_events(truth))
        return self._obs, 0.0, False, False, {"truth": truth, "events": events}

    def render(self) -> np.ndarray | None:
        return None if self.render_mode is None else self._obs

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def object_table(self) -> list[base.ObjectInfo]:
        return [
            base.ObjectInfo(
                id=i,
                name=o.name,
                category="agent" if o is self.scene.agent else o.shape,
                colour=o.colour,
                rgb=o.rgb,
            )
            for i, o in enumerate(self._bodies)
        ]

    def caption(self, record: dict[str, Any]) -> base.Captions:
        return describe_episode(record, self.scene_facts(), seed=int(record["meta"].get("seed", 0)))

    def scene_facts(self) -> dict[str, Any]:
        """Static facts about the current scene that captions phrase (shapes, colours, sizes, drop
        heights, occluders)."""
        return {
            "scenario": self.scenario,
            "objects": [
                {
                    "name": o.name,
                    "shape": o.shape,
                    "colour": o.colour,
                    "radius": o.radius,
                    "start_height": o.position[2] - o.half_height,
                    "agent": o is self.scene.agent,
                }
                for o in self._bodies
            ],
            "occluders": [
                {"name": o.name, "colour": o.colour, "height": 2 * o.size[2]}
                for o in self.scene.occluders
            ],
            "floor": self.scene.floor_colour,
        }

    # ------------------------------------------------------------ internals

    def _index_scene(self) -> None:
        """Object bodies in table order, the geom -> object id map and each object's surface
        samples."""
        m = self.model
        self._bodies: list[ObjectSpec] = [
            *self.scene.objects,
            *([self.scene.agent] if self.scene.agent else []),
        ]
        self._body_ids = np.array([m.body(o.name).id for o in self._bodies], np.int64)
        self._geom_to_obj = np.full(
            m.ngeom + 1, base.BACKGROUND_ID, np.int16
        )  # index geom + 1 (-1 -> background)
        self._geom_names = [m.geom(g).name for g in range(m.ngeom)]
        self._geom_owner: list[int | None] = [None] * m.ngeom
        for i, o in enumerate(self._bodies):
            g = m.geom(o.name).id
            self._geom_to_obj[g + 1] = i
            self._geom_owner[g] = i
        self._dof = [m.jnt_dofadr[m.body_jntadr[b]] for b in self._body_ids]
        self._samples = [surface_samples(o.shape, o.size) for o in self._bodies]

    def _set_initial_velocities(self) -> None:
        """Launch velocities; a sphere resting on the floor also spins (in its body frame) to
        roll."""
        for obj, dof in zip(self.scene.objects, self._dof, strict=False):
            v = np.asarray(obj.velocity, np.float64)
            self.data.qvel[dof : dof + 3] = v
            if obj.shape == "sphere" and abs(obj.position[2] - obj.size[0]) < 1e-3:
                spin = np.cross([0.0, 0.0, 1.0], v) / obj.size[0]  # rolling, not sliding
                c, s = np.cos(obj.yaw), np.sin(obj.yaw)
                self.data.qvel[dof + 3 : dof + 6] = [
                    c * spin[0] + s * spin[1],
                    -s * spin[0] + c * spin[1],
                    spin[2],
                ]

    def _velocities(self) -> np.ndarray:
        out = np.zeros((len(self._bodies), 3))  # (N, 3) world linear velocity
        for i, (obj, dof) in enumerate(zip(self._bodies, self._dof, strict=True)):
            n = 2 if obj is self.scene.agent else 3
            out[i, :n] = self.data.qvel[dof : dof + n]
        return out

    def _observe(self) -> tuple[np.ndarray, base.FrameTruth]:
        position, rotation = self.pose.position(), self.pose.rotation()
        self.data.cam_xpos[0] = position
        self.data.cam_xmat[0] = rotation.ravel()
        rgb, depth, geom = self._renderer.render(self.data)
        instance = self._geom_to_obj[geom + 1]  # (H, W) int16
        extr, intr = (
            extrinsics(position, rotation),
            intrinsics(self.scene.fovy, self.width, self.height),
        )
        full = []
        for (pts, nrm, area), b in zip(self._samples, self._body_ids, strict=True):
            rot = self.data.xmat[b].reshape(3, 3)
            full.append(
                projected_pixels(pts @ rot.T + self.data.xpos[b], nrm @ rot.T, area, extr, intr)
            )
        objects = base.ObjectStates.from_instance_map(
            instance,
            list(range(len(self._bodies))),
            self.data.xpos[self._body_ids],
            self._velocities(),
            full_pixels=np.asarray(full),
        )
        self.geom_map = geom  # (H, W) model geom ids of the last frame, -1 for sky
        return rgb, base.FrameTruth(
            extrinsics=extr, intrinsics=intr, depth=depth, instance=instance, objects=objects
        )

    def _entity(self, geom: int) -> int | str:
        owner = self._geom_owner[geom]
        return self._geom_names[geom] if owner is None else owner

    def _contact_events(self, vel: np.ndarray) -> list[base.Event]:
        """Contacts that began in the last physics step with an approach speed (from `vel`,
        (N, 3)) worth an event."""
        d, now = self.data, float(self.data.time)
        geoms = np.sort(
            d.contact.geom[: d.ncon], axis=1
        )  # (ncon, 2) geom pairs, scenery-only pairs dropped
        geoms = geoms[(self._geom_to_obj[geoms + 1] >= 0).any(axis=1)]
        touching = set(map(tuple, geoms.tolist()))
        events = []
        for k, pair in enumerate(map(tuple, geoms.tolist())):
            if pair in self._touching or now - self._pair_last.get(pair, -1e9) < EVENT_COOLDOWN:
                continue
            a, b = self._entity(pair[0]), self._entity(pair[1])
            va = vel[a] if isinstance(a, int) else np.zeros(3)
            vb = vel[b] if isinstance(b, int) else np.zeros(3)
            speed = float(abs(np.dot(va - vb, d.contact.frame[k, :3])))
            if speed < IMPACT_SPEED:
                continue
            self._pair_last[pair] = now
            objs = tuple(sorted(x for x in (a, b) if isinstance(x, int)))
            detail = {"speed": round(speed, 4), "time": round(now, 4)}
            if len(objs) == 1:
                detail["surface"] = a if isinstance(a, str) else b
            if self.scene.agent is not None and len(self._bodies) - 1 in objs:
                kind = "contact"  # the agent touching something
            else:
                kind = "collision" if len(objs) == 2 else "bounce"
            events.append(base.Event(kind, objs, detail))
        self._touching = touching
        return events

    def _view_events(self, truth: base.FrameTruth) -> list[base.Event]:
        """exit_view / enter_view from the projected centre, occlusion_start / _end from
        visibility."""
        objs = truth.objects
        centre_uv, centre_z = project(
            objs.position.astype(np.float64), truth.extrinsics, truth.intrinsics
        )
        in_view = (
            (centre_z > 0)
            & (centre_uv[:, 0] >= 0)
            & (centre_uv[:, 0] < self.width)
            & (centre_uv[:, 1] >= 0)
            & (centre_uv[:, 1] < self.height)
        )
        state, events = [], []
        for i in range(len(self._bodies)):
            prev_in, prev_occ = (
                self._view_state[i] if self._view_state else (bool(in_view[i]), False)
            )
            now_in = bool(in_view[i])
            occ = prev_occ if now_in else False
            if now_in and not prev_occ and objs.visible[i] < OCCLUDED_BELOW:
                occ = True
            elif now_in and prev_occ and objs.visible[i] > REVEALED_ABOVE:
                occ = False
            if self._view_state is not None:
                if prev_in != now_in:
                    events.append(base.Event("enter_view" if now_in else "exit_view", (i,)))
                if occ and not prev_occ:
                    events.append(
                        base.Event("occlusion_start", (i,), {"by": self._occluder_at(centre_uv[i])})
                    )
                elif prev_occ and not occ and now_in:
                    events.append(base.Event("occlusion_end", (i,)))
            state.append((now_in, occ))
        self._view_state = state
        return events

    def _occluder_at(self, uv: np.ndarray) -> str:
        x = int(np.clip(uv[0], 0, self.width - 1))
        y = int(np.clip(uv[1], 0, self.height - 1))
        g = int(self.geom_map[y, x])
        if g < 0:
            return "nothing"
        owner = self._geom_owner[g]
        return self._bodies[owner].name if owner is not None else self._geom_names[g]
