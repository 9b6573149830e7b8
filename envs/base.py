"""Truth schema and action codecs shared by every worldsim environment.

Every worldsim env is an ordinary Gymnasium env whose observation is the RGB frame
(H, W, 3) uint8. On top of that it exposes, through `info` and two methods, what the
simulator knows exactly:

- `info["truth"]`  a `FrameTruth` for the frame just returned by `reset`/`step`;
- `info["events"]` a list of `Event`s that happened since the previous frame;
- `env.unwrapped.object_table()` the static table of objects (`ObjectInfo`), fixed per episode;
- `env.unwrapped.action_codec` turns raw env actions into flat float vectors and back.
- `env.unwrapped.caption(record)` long/short descriptions built from the recorded truth.

Conventions (also in the README):
- extrinsics are 4x4 world->camera in OpenCV convention (x right, y down, z forward);
- intrinsics are 3x3 pixel-space K for the rendered (H, W);
- depth is float32 metres along the camera z axis, `inf` where nothing is hit;
- instance maps are int16 object ids from `object_table()`, -1 for background/static scenery;
- `actions[t]` is the action executed just before frame t was observed; `actions[0]` is the no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

BACKGROUND_ID = -1


def _same(a: Any, b: Any) -> bool:
    """Equality comparing arrays elementwise (nan == nan): truth compares like data (check_env)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        )
    return a == b


def _fields_same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and all(
        _same(x, y) for x, y in zip(vars(a).values(), vars(b).values())
    )


@dataclass(frozen=True)
class ObjectInfo:
    """Static description of one object; `id` is the value it takes in instance maps."""

    id: int
    name: str
    category: str  # e.g. "sphere", "box", "monster", "tree"
    colour: str = ""  # palette name, "" when the object has no single colour
    rgb: tuple[int, int, int] = (0, 0, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "colour": self.colour,
            "rgb": list(self.rgb),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ObjectInfo:
        return cls(
            id=int(d["id"]),
            name=d["name"],
            category=d["category"],
            colour=d.get("colour", ""),
            rgb=tuple(d.get("rgb", (0, 0, 0))),
        )


@dataclass
class ObjectStates:
    """Per-frame dynamic state of the N objects of `object_table()`, in table order."""

    position: np.ndarray  # (N, 3) float32 world metres
    velocity: np.ndarray  # (N, 3) float32 world metres/s
    visible: (
        np.ndarray
    )  # (N,) float32 fraction of the object's pixels not occluded, 0 when out of view
    centroid: (
        np.ndarray
    )  # (N, 2) float32 (x, y) pixel centroid of the visible mask, nan when unseen
    bbox: (
        np.ndarray
    )  # (N, 4) float32 (x0, y0, x1, y1) pixel box of the visible mask, nan when unseen

    __eq__ = _fields_same

    @classmethod
    def from_instance_map(
        cls,
        instance: np.ndarray,
        ids: list[int],
        position: np.ndarray,
        velocity: np.ndarray,
        full_pixels: np.ndarray | None = None,
    ) -> ObjectStates:
        """Fill visibility, centroid and bbox from an instance map.

        `full_pixels[i]` is how many pixels object i would cover unoccluded (for a visible
        fraction); without it, `visible` is 1.0 for any object with at least one pixel.
        """
        n = len(ids)
        visible = np.zeros(n, np.float32)
        centroid = np.full((n, 2), np.nan, np.float32)
        bbox = np.full((n, 4), np.nan, np.float32)
        for i, obj_id in enumerate(ids):
            ys, xs = np.nonzero(instance == obj_id)
            if len(xs) == 0:
                continue
            if full_pixels is None:
                visible[i] = 1.0
            else:
                visible[i] = min(1.0, len(xs) / max(float(full_pixels[i]), 1.0))
            centroid[i] = (xs.mean() + 0.5, ys.mean() + 0.5)
            bbox[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        return cls(
            position=np.asarray(position, np.float32),
            velocity=np.asarray(velocity, np.float32),
            visible=visible,
            centroid=centroid,
            bbox=bbox,
        )


@dataclass
class FrameTruth:
    """Everything the simulator knows about one rendered frame; None where it does not know."""

    extrinsics: np.ndarray | None = None  # (4, 4) float32 world->camera
    intrinsics: np.ndarray | None = None  # (3, 3) float32
    depth: np.ndarray | None = None  # (H, W) float32 metres
    instance: np.ndarray | None = None  # (H, W) int16 object ids, BACKGROUND_ID elsewhere
    objects: ObjectStates | None = None
    extras: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # env-specific, fixed shape per episode

    __eq__ = _fields_same


@dataclass(frozen=True)
class Event:
    """Something that happened between the previous frame and this one (bounce, occlusion...)."""

    # "contact", "bounce", "occlusion_start", "occlusion_end", "exit_view", "enter_view", ...
    kind: str
    objects: tuple[int, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, frame: int) -> dict[str, Any]:
        return {
            "frame": frame,
            "kind": self.kind,
            "objects": list(self.objects),
            "detail": self.detail,
        }


@dataclass
class Captions:
    """Descriptions of an episode derived from its truth."""

    long: str  # whole-episode descriptive caption
    prompt: str  # short prompt a user would type
    windows: list[dict[str, Any]] = field(
        default_factory=list
    )  # [{"start", "end", "text"}] per clip window

    def to_dict(self) -> dict[str, Any]:
        return {"long": self.long, "prompt": self.prompt, "windows": self.windows}

    def for_window(self, start: int, end: int) -> str:
        """The caption of the recorded window overlapping [start, end) most, else the long one.
        Among windows of equal overlap, the one ending nearest `end`: a span longer than the
        windows gets the caption of its last frames, the ones a model is asked to make, not of
        its context (for spans a window holds, that is the earliest of the windows holding it)."""
        best, best_key = self.long, (0, 0)
        for w in self.windows:
            overlap = min(end, w["end"]) - max(start, w["start"])
            key = (overlap, -abs(end - w["end"]))
            if overlap > 0 and key > best_key:
                best, best_key = w["text"], key
        return best


@runtime_checkable
class ActionCodec(Protocol):
    """Maps raw env actions to flat float32 vectors (discrete parts one-hot) and back."""

    dim: int

    def encode(self, action: Any) -> np.ndarray: ...  # -> (dim,) float32

    def decode(self, vector: np.ndarray) -> Any: ...  # nearest valid raw action

    def noop(self) -> Any: ...  # raw action that does nothing

    def describe(self) -> dict[str, Any]: ...  # JSON description stored in episode meta


class DiscreteCodec:
    """One-hot codec for a `gymnasium.spaces.Discrete` action space."""

    def __init__(self, n: int, names: list[str] | None = None, noop_index: int = 0):
        self.dim = n
        self.names = names or [str(i) for i in range(n)]
        if len(self.names) != n:
            raise ValueError(f"DiscreteCodec got {len(self.names)} names for {n} actions")
        self.noop_index = noop_index

    def encode(self, action: Any) -> np.ndarray:
        vec = np.zeros(self.dim, np.float32)
        vec[int(action)] = 1.0
        return vec

    def decode(self, vector: np.ndarray) -> int:
        return int(np.argmax(vector))

    def noop(self) -> int:
        return self.noop_index

    def describe(self) -> dict[str, Any]:
        return {"type": "discrete", "dim": self.dim, "names": self.names, "noop": self.noop_index}


class BoxCodec:
    """Identity codec for a `gymnasium.spaces.Box` action space, flattened."""

    def __init__(self, space: gym.spaces.Box, names: list[str] | None = None):
        self.space = space
        self.dim = int(np.prod(space.shape))
        self.names = names or [f"a{i}" for i in range(self.dim)]

    def encode(self, action: Any) -> np.ndarray:
        return np.asarray(action, np.float32).reshape(self.dim)

    def decode(self, vector: np.ndarray) -> np.ndarray:
        vec = np.asarray(vector, np.float32).reshape(self.space.shape)
        return np.clip(vec, self.space.low, self.space.high).astype(self.space.dtype)

    def noop(self) -> np.ndarray:
        return np.zeros(self.space.shape, self.space.dtype)

    def describe(self) -> dict[str, Any]:
        return {
            "type": "box",
            "dim": self.dim,
            "names": self.names,
            "low": np.asarray(self.space.low).reshape(-1).tolist(),
            "high": np.asarray(self.space.high).reshape(-1).tolist(),
        }


class WorldsimEnv(gym.Env):
    """Base class: a Gymnasium env rendering RGB observations with `FrameTruth` in `info`.

    Subclasses set `observation_space`, `action_space`, `action_codec` in `__init__` and
    implement `reset`/`step` returning `info = {"truth": FrameTruth, "events": [Event, ...]}`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}
    action_codec: ActionCodec

    def object_table(self) -> list[ObjectInfo]:
        """Objects of the current episode, in the order of `FrameTruth.objects` rows."""
        return []

    def caption(self, record: dict[str, Any]) -> Captions:
        """Describe a finished episode; `record` holds the episode's arrays, objects and events."""
        return Captions(
            long=f"A {self.spec.id if self.spec else type(self).__name__} episode.",
            prompt=type(self).__name__,
        )

    def scripted_action(self) -> Any:
        """An action from the env's own scripted (competent or exploratory) policy."""
        raise NotImplementedError(
            f"{type(self).__name__} has no scripted policy; use policy=random"
        )
