"""Known corruptions of the true future, each a replay oracle that every suite must score lower.

Each corruption edits a case's true frames from an onset inside the horizon on, using the
simulator's instance maps to find objects and nearest-pixel inpainting to erase them; altered
gravity is re-simulated from the same seed and actions with the env's `gravity` kwarg.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from evals.baselines import GroundTruthReplay
from evals.scenarios import Case, ScenarioConfig, resimulated

GRAVITY_FACTOR = 0.4  # altered gravity = this times the scenario's gravity
DEFAULT_GRAVITY = -9.81


def onset(case: Case) -> int:
    """First corrupted frame: a quarter into the horizon, so the corruption is seen for most of
    it."""
    return case.context + case.horizon // 4


def main_object(case: Case) -> int:
    """Id of the object with the most true pixels in the horizon (so the edit is visible)."""
    inst = case.truth["instance"][case.context :]
    ids = [o["id"] for o in case.objects]
    return max(ids, key=lambda i: int((inst == i).sum()))


def erase(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill `mask` with the colour of the nearest pixel outside it."""
    if not mask.any() or mask.all():
        return frame.copy()
    _, (iy, ix) = ndimage.distance_transform_edt(mask, return_indices=True)
    return frame[iy, ix]


def shift(a: np.ndarray, dy: int, dx: int, fill) -> np.ndarray:
    """Translate a 2D (or 2D x channels) array by (dy, dx) without wrap-around."""
    out = np.full_like(a, fill)
    h, w = a.shape[:2]
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = a[
        max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def _object_edit(case: Case, edit: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    frames = case.frames.copy()
    k = main_object(case)
    for t in range(onset(case), frames.shape[0]):
        frames[t] = edit(frames[t], case.truth["instance"][t] == k)
    return frames


def _offset(case: Case) -> tuple[int, int]:
    h, w = case.frames.shape[1:3]
    return h // 5, w // 3


def frozen(case: Case) -> np.ndarray:
    """The video stalls: every frame from the onset repeats the frame before it."""
    frames = case.frames.copy()
    frames[onset(case) :] = frames[onset(case) - 1]
    return frames


def teleport(case: Case) -> np.ndarray:
    """The main object jumps by a third of the width at the onset and stays displaced."""
    dy, dx = _offset(case)

    def edit(frame, mask):
        out = erase(frame, mask)
        moved = shift(mask, dy, dx, False)
        out[moved] = shift(frame, dy, dx, 0)[moved]
        return out

    return _object_edit(case, edit)


def vanish(case: Case) -> np.ndarray:
    """The main object disappears at the onset."""
    return _object_edit(case, erase)


def spawn(case: Case) -> np.ndarray:
    """A copy of the main object appears at the onset beside it."""
    dy, dx = _offset(case)

    def edit(frame, mask):
        out = frame.copy()
        moved = shift(mask, dy, dx, False)
        out[moved] = shift(frame, dy, dx, 0)[moved]
        return out

    return _object_edit(case, edit)


def reversed_time(case: Case) -> np.ndarray:
    """The horizon plays backwards."""
    frames = case.frames.copy()
    frames[case.context :] = case.frames[case.context :][::-1]
    return frames


def colour_change(case: Case) -> np.ndarray:
    """The main object's colour channels rotate (red -> green -> blue) at the onset."""

    def edit(frame, mask):
        out = frame.copy()
        out[mask] = frame[mask][:, [2, 0, 1]]
        return out

    return _object_edit(case, edit)


def camera_drift(case: Case) -> np.ndarray:
    """The image slides sideways by one pixel per 32 columns per frame over the horizon."""
    frames = case.frames.copy()
    w = frames.shape[2]
    for i, t in enumerate(range(case.context, frames.shape[0])):
        dx = round((i + 1) * max(w / 32, 1))
        frames[t] = (
            np.concatenate(
                [np.repeat(case.frames[t][:, :1], dx, 1), case.frames[t][:, : w - dx]], 1
            )
            if dx < w
            else np.repeat(case.frames[t][:, :1], w, 1)
        )
    return frames


CORRUPTIONS: dict[str, Callable[[Case], np.ndarray]] = {
    "frozen": frozen,
    "teleport": teleport,
    "vanish": vanish,
    "spawn": spawn,
    "reversed": reversed_time,
    "colour": colour_change,
    "camera_drift": camera_drift,
}
RESIMULATED = ("gravity",)
ALL_CORRUPTIONS = (*CORRUPTIONS, *RESIMULATED)


class CorruptedReplay(GroundTruthReplay):
    """Oracle replaying the truth with one corruption applied (a model that must score lower)."""

    def __init__(self, name: str, scenario: ScenarioConfig | None = None):
        super().__init__()
        if name not in ALL_CORRUPTIONS:
            raise ValueError(
                f"unknown corruption {name!r}; choose from {', '.join(ALL_CORRUPTIONS)}"
            )
        if name in RESIMULATED and scenario is None:
            raise ValueError(
                f"corruption {name!r} re-simulates the scenario; pass its ScenarioConfig"
            )
        self.name, self.scenario = name, scenario
        self._altered: dict[str, np.ndarray] = {}
        self._done: dict[str, np.ndarray] = {}  # teacher forcing reveals each case once per step

    def frames(self, case: Case) -> np.ndarray:
        if case.name not in self._done:
            self._done[case.name] = self._corrupt(case)
        return self._done[case.name]

    def _corrupt(self, case: Case) -> np.ndarray:
        if self.name in CORRUPTIONS:
            return CORRUPTIONS[self.name](case)
        if not self._altered:
            g = float(self.scenario.env.kwargs.get("gravity", DEFAULT_GRAVITY)) * GRAVITY_FACTOR
            self._altered = {c.name: c.frames for c in resimulated(self.scenario, gravity=g)}
        frames = case.frames.copy()
        frames[case.context :] = self._altered[case.name][case.context :]
        return frames
