"""The episode: the unit of data every stage of worldsim reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCHEMA_VERSION = 1

# Per-frame truth arrays an episode may carry, with their per-frame shapes and dtypes.
# "H"/"W" are the frame size, "N" the number of objects of the episode's object table.
TRUTH_ARRAYS: dict[str, tuple[tuple[str | int, ...], type]] = {
    "extrinsics": ((4, 4), np.float32),
    "intrinsics": ((3, 3), np.float32),
    "depth": (("H", "W"), np.float32),
    "instance": (("H", "W"), np.int16),
    "obj_position": (("N", 3), np.float32),
    "obj_velocity": (("N", 3), np.float32),
    "obj_visible": (("N",), np.float32),
    "obj_centroid": (("N", 2), np.float32),
    "obj_bbox": (("N", 4), np.float32),
}
EXTRA_PREFIX = "extra_"  # env-specific truth arrays are stored as truth["extra_<name>"]


class EpisodeError(ValueError):
    """An episode breaks the schema; the message names the episode, the field and the fix."""


@dataclass
class Episode:
    """One recorded episode: frames, actions, truth, captions and meta.

    `actions[t]` is the encoded action executed just before `frames[t]` was observed
    (`actions[0]` is the codec's no-op), so frame t can be conditioned on its own action.
    """

    frames: np.ndarray  # (T, H, W, 3) uint8
    actions: np.ndarray  # (T, A) float32, encoded by the env's action codec
    raw_actions: list[Any]  # T raw env actions (JSON-serialisable)
    rewards: np.ndarray  # (T,) float32
    terminated: np.ndarray  # (T,) bool
    truth: dict[str, np.ndarray] = field(default_factory=dict)  # TRUTH_ARRAYS keys + extra_*
    objects: list[dict[str, Any]] = field(default_factory=list)  # ObjectInfo.to_dict() rows
    events: list[dict[str, Any]] = field(default_factory=list)  # Event.to_dict(frame) rows
    captions: dict[str, Any] = field(default_factory=dict)  # Captions.to_dict()
    meta: dict[str, Any] = field(default_factory=dict)  # env_id, env config, seed, fps, policy...

    @property
    def length(self) -> int:
        return int(self.frames.shape[0])

    @property
    def resolution(self) -> tuple[int, int]:
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    def validate(self, name: str = "episode") -> None:
        """Raise EpisodeError naming the first array that breaks the schema."""
        f = self.frames
        if f.ndim != 4 or f.shape[-1] != 3 or f.dtype != np.uint8:
            raise EpisodeError(
                f"{name}: frames have shape {f.shape} dtype {f.dtype}, expected (T, H, W, 3) uint8"
            )
        t, h, w = f.shape[:3]
        if t < 1:
            raise EpisodeError(f"{name}: has no frames")
        dims = {"H": h, "W": w, "N": len(self.objects)}
        expect = {
            "actions": ((t, self.actions.shape[-1] if self.actions.ndim == 2 else -1), np.float32),
            "rewards": ((t,), np.float32),
            "terminated": ((t,), np.bool_),
        }
        for key, (shape, dtype) in expect.items():
            arr = getattr(self, key)
            if arr.shape != shape or arr.dtype != dtype:
                raise EpisodeError(
                    f"{name}: {key} has shape {arr.shape} dtype {arr.dtype}, "
                    f"expected {shape} {np.dtype(dtype).name}"
                )
        if not np.isfinite(self.actions).all():
            frame = int(np.nonzero(~np.isfinite(self.actions).all(axis=1))[0][0])
            raise EpisodeError(f"{name}: actions hold NaN or inf (first at frame {frame})")
        if len(self.raw_actions) != t:
            raise EpisodeError(f"{name}: {len(self.raw_actions)} raw actions for {t} frames")
        for key, arr in self.truth.items():
            if arr.shape[:1] != (t,):
                raise EpisodeError(
                    f"{name}: truth[{key!r}] has {arr.shape[0]} frames, expected {t}"
                )
            if key.startswith(EXTRA_PREFIX):
                continue
            if key not in TRUTH_ARRAYS:
                raise EpisodeError(
                    f"{name}: unknown truth key {key!r}; known keys are "
                    f"{sorted(TRUTH_ARRAYS)} or '{EXTRA_PREFIX}<name>' for env-specific truth"
                )
            shape, dtype = TRUTH_ARRAYS[key]
            want = (t, *(dims[s] if isinstance(s, str) else s for s in shape))
            if arr.shape != want or arr.dtype != dtype:
                raise EpisodeError(
                    f"{name}: truth[{key!r}] has shape {arr.shape} dtype {arr.dtype}, "
                    f"expected {want} {np.dtype(dtype).name}"
                )
