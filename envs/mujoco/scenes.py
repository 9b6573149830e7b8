"""Scene description (objects, occluders, agent, camera, physics) and its MJCF model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envs.mujoco.camera import OrbitPose

# Named palette of object colours (sRGB 0-255); scenery uses the greys below.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "orange": (240, 130, 30),
    "purple": (140, 60, 190),
    "cyan": (40, 200, 210),
    "pink": (240, 120, 180),
    "white": (240, 240, 240),
    "brown": (130, 80, 40),
}
OCCLUDER_COLOURS: dict[str, tuple[int, int, int]] = {
    "grey": (128, 128, 128),
    "beige": (200, 185, 150),
    "dark grey": (70, 70, 75),
    "teal": (40, 110, 110),
}
SHAPES = ("sphere", "box", "cylinder")
AGENT_COLOUR = ("black", (25, 25, 25))


@dataclass
class Physics:
    """The physics knobs of every scene (env kwargs); a counterfactual re-simulates with other
    values."""

    gravity: float = -9.81  # m/s^2 along world z
    restitution: float = 0.7  # target coefficient of restitution of object contacts, in [0, 1]
    friction: float = 0.6  # sliding friction coefficient
    timestep: float = 0.005  # seconds per physics step
    frame_skip: int = 10  # physics steps per rendered frame

    def __post_init__(self) -> None:
        if not 0.0 <= self.restitution <= 1.0:
            raise ValueError(f"restitution={self.restitution} must lie in [0, 1]")
        if self.timestep <= 0 or self.frame_skip < 1 or self.friction < 0:
            raise ValueError(
                f"need timestep > 0, frame_skip >= 1, friction >= 0 (got {self.timestep}, "
                f"{self.frame_skip}, {self.friction})"
            )

    @property
    def frame_dt(self) -> float:
        return self.timestep * self.frame_skip


@dataclass
class ObjectSpec:
    """One dynamic object: a free body with a single geom."""

    name: str
    shape: str  # sphere | box | cylinder
    colour: str
    size: tuple[
        float, ...
    ]  # MuJoCo geom size: (r,) sphere, (hx, hy, hz) box, (r, half-height) cylinder
    position: tuple[float, float, float]
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw: float = 0.0  # initial rotation around z, radians
    density: float = 500.0  # kg/m^3
    restitution: float = 0.7

    @property
    def rgb(self) -> tuple[int, int, int]:
        return PALETTE.get(self.colour, AGENT_COLOUR[1])

    @property
    def half_height(self) -> float:
        """Half of the object's vertical extent when upright."""
        return self.size[0] if self.shape == "sphere" else self.size[-1]

    @property
    def radius(self) -> float:
        """Radius of the sphere of the same volume (for size words)."""
        if self.shape == "sphere":
            volume = 4 / 3 * np.pi * self.size[0] ** 3
        elif self.shape == "box":
            volume = 8 * float(np.prod(self.size))
        else:
            volume = np.pi * self.size[0] ** 2 * 2 * self.size[1]
        return float((3 * volume / (4 * np.pi)) ** (1 / 3))


@dataclass
class OccluderSpec:
    """A static box (wall, pillar) that hides objects behind it."""

    name: str
    colour: str
    size: tuple[float, float, float]  # half extents
    position: tuple[float, float, float]
    yaw: float = 0.0

    @property
    def rgb(self) -> tuple[int, int, int]:
        return OCCLUDER_COLOURS[self.colour]


@dataclass
class SceneSpec:
    """Everything drawn from the seed: arena, objects, occluders, optional agent, first camera
    pose."""

    objects: list[ObjectSpec]
    camera: OrbitPose
    occluders: list[OccluderSpec] = field(default_factory=list)
    agent: ObjectSpec | None = None  # moved by actions on x/y slide joints
    agent_gain: float = 400.0  # the agent's velocity actuators' kv, N s/m (time constant m / kv)
    agent_max_speed: float = 1.5  # the actuators' command limit, m/s
    arena: float = 2.0  # half side of the square floor, metres
    wall_height: float = 0.25
    fovy: float = 50.0
    floor_colour: str = "grey"


def _rgba(rgb: tuple[int, int, int]) -> str:
    return " ".join(f"{c / 255:.4f}" for c in rgb) + " 1"


def _vec(v) -> str:
    return " ".join(f"{float(x):.6g}" for x in v)


CONTACT_STIFFNESS = (
    20000.0  # 1/s^2 of MuJoCo's direct-mode contact spring (about 3 cm sink at 5 m/s)
)


def solref(restitution: float) -> tuple[float, float]:
    """MuJoCo direct-mode solref (-stiffness, -damping) whose contact rebounds with `restitution`.

    A damped spring of damping ratio z returns exp(-z pi / sqrt(1 - z^2)) of the impact speed;
    soft-contact effects add a few hundredths for low restitution (measured: 0.3 -> 0.43, 0.7 ->
    0.73)."""
    e = float(np.clip(restitution, 1e-3, 1.0))
    ratio = -np.log(e) / np.sqrt(np.pi**2 + np.log(e) ** 2)
    return -CONTACT_STIFFNESS, -2 * ratio * np.sqrt(CONTACT_STIFFNESS)


def _geom(spec: ObjectSpec, physics: Physics, collide: str) -> str:
    k, b = solref(spec.restitution)
    return (
        f'<geom name="{spec.name}" type="{spec.shape}" size="{_vec(spec.size)}" '
        f'rgba="{_rgba(spec.rgb)}" '
        f'density="{spec.density:g}" friction="{physics.friction:g} 0.005 0.0001" '
        f'solref="{k:g} {b:g}" solmix="1000" {collide}/>'
    )


# The agent glides on slide joints: it touches objects (bit 2) but not the floor or walls (bit 1).
_OBJECT_COLLIDE, _AGENT_COLLIDE = 'contype="1" conaffinity="3"', 'contype="2" conaffinity="2"'


def _walls(a: float, wall_h: float, solref_kb: tuple[float, float]) -> list[str]:
    """The four walls around the arena [-a, a]^2, `wall_h` high."""
    k, b = solref_kb
    wall_rgba = _rgba(OCCLUDER_COLOURS["beige"])
    return [
        f'<geom name="wall{i}" type="box" size="{hx:g} {hy:g} {wall_h / 2:g}" '
        f'pos="{x:g} {y:g} {wall_h / 2:g}" rgba="{wall_rgba}" solref="{k:g} {b:g}" '
        'solmix="0.001"/>'
        for i, (x, y, hx, hy) in enumerate(
            [(a, 0, 0.05, a), (-a, 0, 0.05, a), (0, a, a, 0.05), (0, -a, a, 0.05)]
        )
    ]


def build_mjcf(scene: SceneSpec, physics: Physics, width: int, height: int) -> str:
    """MJCF XML of the scene; geom names are the object/occluder names, camera 0 is the moving
    view."""
    a, wall_h = scene.arena, scene.wall_height
    k, b = solref(physics.restitution)
    parts = [
        '<mujoco model="worldsim">',
        '<compiler angle="radian"/>',
        f'<option timestep="{physics.timestep:g}" gravity="0 0 {physics.gravity:g}" '
        'integrator="implicitfast"/>',
        f'<statistic extent="{2 * a:g}" center="0 0 0.5"/>',
        f'<visual><global offwidth="{width}" offheight="{height}"/>'
        '<quality shadowsize="512" offsamples="0"/><map znear="0.01" zfar="10"/>'
        '<headlight ambient="0.35 0.35 0.35" diffuse="0.35 0.35 0.35" specular="0 0 0"/></visual>',
        '<asset><texture name="checker" type="2d" builtin="checker" width="64" height="64" '
        f'rgb1="{_rgba(OCCLUDER_COLOURS[scene.floor_colour])[:-2]}" rgb2="0.42 0.42 0.42"/>'
        '<material name="floor" texture="checker" texrepeat="8 8"/>'
        '<texture name="sky" type="skybox" builtin="gradient" rgb1="0.55 0.7 0.9" rgb2="0.9 0.95 '
        '1" width="64" height="64"/></asset>',
        "<worldbody>",
        '<light name="sun" pos="1 -1 4" dir="-0.25 0.25 -1" directional="true" castshadow="true" '
        'diffuse="0.6 0.6 0.6"/>',
        f'<camera name="view" pos="0 0 0" fovy="{scene.fovy:g}"/>',
        f'<geom name="floor" type="plane" size="{a:g} {a:g} 0.1" material="floor" '
        f'friction="{physics.friction:g} 0.005 0.0001" solref="{k:g} {b:g}" solmix="0.001"/>',
    ]
    parts += _walls(a, wall_h, (k, b))
    for occ in scene.occluders:
        parts.append(
            f'<geom name="{occ.name}" type="box" size="{_vec(occ.size)}" '
            f'pos="{_vec(occ.position)}" '
            f'euler="0 0 {occ.yaw:g}" rgba="{_rgba(occ.rgb)}" solref="{k:g} {b:g}" solmix="0.001"/>'
        )
    for obj in scene.objects:
        parts.append(
            f'<body name="{obj.name}" pos="{_vec(obj.position)}" euler="0 0 {obj.yaw:g}">'
            f'<freejoint name="{obj.name}"/>{_geom(obj, physics, _OBJECT_COLLIDE)}</body>'
        )
    if scene.agent is not None:
        ag, lim = scene.agent, a - scene.agent.size[0] - 0.06
        x, y = ag.position[:2]
        parts.append(
            f'<body name="{ag.name}" pos="{_vec(ag.position)}">'
            f'<joint name="agent_x" type="slide" axis="1 0 0" range="{-lim - x:g} {lim - x:g}"/>'
            f'<joint name="agent_y" type="slide" axis="0 1 0" range="{-lim - y:g} {lim - y:g}"/>'
            f"{_geom(ag, physics, _AGENT_COLLIDE)}</body>"
        )
    parts.append("</worldbody>")
    if scene.agent is not None:
        parts.append(
            "<actuator>"
            + "".join(
                f'<velocity joint="agent_{axis}" kv="{scene.agent_gain:g}" '
                f'ctrlrange="{-scene.agent_max_speed:g} {scene.agent_max_speed:g}"/>'
                for axis in "xy"
            )
            + "</actuator>"
        )
    parts.append("</mujoco>")
    return "\n".join(parts)
