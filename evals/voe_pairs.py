"""Violation-of-expectation pairs: a case's true future (possible) beside an impossible one.

MuJoCo cases are re-simulated with one edit of the simulator state inside the horizon, so the
physics after the edit stays exact:
- `vanish`: an object seen, then hidden behind something (0 pixels, centre in view) at a horizon
  frame, then seen again, is removed (invisible, colliding with nothing) at that hidden frame;
- `teleport`: the most visible object jumps TELEPORT_M metres sideways (camera right or left,
  whichever leaves it clear of every other geom) at the onset `Tc + h // 4`;
- `colour`: at the onset its colour becomes the unused palette colour farthest in chromaticity;
- `size`: at the onset it shrinks to SIZE_FACTOR of its size;
- `through`: at its first contact in the horizon (a bounce or collision event) it passes through
  the surface (floor, wall, occluder) or the other object instead of touching it.
Other envs with instance truth (Crafter, ViZDoom) get `teleport`, `vanish` and `colour` as edits of
the true frames (`evals/corruptions.py`). A pair is kept only when the impossible future differs
from the possible one in at least MIN_CHANGED pixel-frames (an unseen violation is no trial).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from envs.mujoco.camera import project
from envs.mujoco.render import mujoco
from envs.mujoco.scenarios import horizontal_axes
from envs.mujoco.scenes import PALETTE
from evals import corruptions
from evals.resim import case_env, object_geom, replay, resimulable
from evals.scenarios import Case
from evals.segment import chroma

KINDS = ("vanish", "teleport", "colour", "size", "through")
TELEPORT_M = 0.35  # metres: about 10 px at 64x64 and the scenes' camera distance
SIZE_FACTOR = 0.6  # shrinking never makes a geom penetrate another
CHANGE_THRESHOLD = 24  # max channel difference (0-255) that counts a pixel as changed
MIN_CHANGED = 8  # pixel-frames the edit must change for the pair to count
MIN_VISIBLE = 4  # pixels of the edited object at the onset for a visible edit
PENETRATION = 0.002  # metres: a teleport landing deeper than this into any geom is refused
AGENT_BITS = 2  # the agent's contype/conaffinity: touches objects (conaffinity 3), not scenery (1)
GHOST_BIT = 4  # a contype bit no geom uses


@dataclass
class VoEPair:
    """A possible and an impossible future of one case; the context is the case's own."""

    case: str
    kind: str  # one of KINDS
    onset: int  # first frame (episode index) where the two futures may differ
    possible: np.ndarray  # (horizon, H, W, 3) uint8, the true future
    impossible: np.ndarray  # (horizon, H, W, 3) uint8


class NotApplicable(Exception):
    """An edit that cannot be made on this case (raised inside a replay, caught by make_pairs)."""


# ------------------------------------------------------------------ state edits (MuJoCo)


def vanish(base, name: str) -> None:
    """The object becomes invisible and stops colliding."""
    _, g = object_geom(base, name)
    base.model.geom_rgba[g, 3] = 0.0
    base.model.geom_contype[g] = base.model.geom_conaffinity[g] = 0


def teleport(base, name: str) -> None:
    """The object jumps TELEPORT_M along the camera's right axis, or its left if that is blocked."""
    b, g = object_geom(base, name)
    adr = base.model.jnt_qposadr[base.model.body_jntadr[b]]
    start = base.data.qpos[adr : adr + 3].copy()
    right, _ = horizontal_axes(base.pose)
    for sign in (1.0, -1.0):
        base.data.qpos[adr : adr + 3] = start + sign * TELEPORT_M * right
        mujoco.mj_forward(base.model, base.data)
        n = base.data.ncon
        hits = base.data.contact.geom[:n] == g
        if not (hits.any(1) & (base.data.contact.dist[:n] < -PENETRATION)).any():
            return
    raise NotApplicable(f"{name} has no free spot {TELEPORT_M} m to either side")


def recolour(base, name: str, rgb: tuple[int, int, int]) -> None:
    _, g = object_geom(base, name)
    base.model.geom_rgba[g, :3] = np.asarray(rgb) / 255


def shrink(base, name: str) -> None:
    _, g = object_geom(base, name)
    m = base.model
    m.geom_size[g] *= SIZE_FACTOR
    m.geom_rbound[g] *= SIZE_FACTOR
    m.geom_aabb[g] *= SIZE_FACTOR


def through(base, name: str, partner: str | None) -> None:
    """The object stops colliding with the scenery (`partner` None) or with the other objects."""
    _, g = object_geom(base, name)
    m = base.model
    if partner is None:  # solid to objects only, like the agent
        m.geom_contype[g] = m.geom_conaffinity[g] = AGENT_BITS
        return
    scenery = m.geom_bodyid == 0  # floor, walls, occluders
    m.geom_conaffinity[scenery] |= GHOST_BIT
    m.geom_contype[g] = m.geom_conaffinity[g] = GHOST_BIT  # meets the scenery only


# ------------------------------------------------------------------ choosing what to edit


def visible_object(case: Case, frame: int) -> dict | None:
    """The non-agent object with most true pixels at `frame`, if it shows MIN_VISIBLE of them."""
    objs = [o for o in case.objects if o.get("category") != "agent"]
    inst = case.truth["instance"][frame]
    best = max(objs, key=lambda o: int((inst == o["id"]).sum()), default=None)
    return best if best and (inst == best["id"]).sum() >= MIN_VISIBLE else None


def far_colour(case: Case, obj: dict) -> tuple[int, int, int]:
    """The palette colour unused in the scene whose chromaticity is farthest from the object's."""
    used = {tuple(o["rgb"]) for o in case.objects}
    free = [rgb for rgb in PALETTE.values() if rgb not in used]
    c = chroma(np.array([obj["rgb"], *free], np.uint8))[0]  # (1 + F, 3)
    return free[int(np.argmax(np.linalg.norm(c[1:] - c[0], axis=1)))]


def in_view(case: Case, frame: int, obj: dict) -> bool:
    """Whether the object's centre projects inside the image at `frame` (in front of the camera)."""
    t = case.truth
    uv, z = project(
        t["obj_position"][frame, obj["id"]][None], t["extrinsics"][frame], t["intrinsics"][frame]
    )
    h, w = case.frames.shape[1:3]
    return bool(z[0] > 0 and 0 <= uv[0, 0] < w and 0 <= uv[0, 1] < h)


def hidden_window(case: Case) -> tuple[dict, int] | None:
    """(object, first frame it is hidden) for an object that is seen, then hidden behind something
    (0 pixels, its centre in view) at a horizon frame, then seen again (MIN_VISIBLE pixels) before
    the end."""
    inst = case.truth["instance"]
    for obj in case.objects:
        area = (inst == obj["id"]).sum((1, 2))  # (T,)
        seen = area >= MIN_VISIBLE
        for t in range(case.context, len(area) - 1):
            if area[t] == 0 and seen[:t].any() and seen[t + 1 :].any() and in_view(case, t, obj):
                return obj, t
    return None


def first_contact(case: Case) -> tuple[dict, str | None, int] | None:
    """(object, partner name or None for scenery, frame) of the first bounce or collision in the
    horizon."""
    by_id = {o["id"]: o for o in case.objects}
    for e in case.events:
        if e["frame"] >= case.context and e["kind"] in ("bounce", "collision"):
            obj = by_id[e["objects"][0]]
            other = e["objects"][1] if len(e["objects"]) > 1 else None
            return obj, None if other is None else by_id[other]["name"], e["frame"]
    return None


def mujoco_edits(case: Case) -> dict[str, tuple[int, Callable]]:
    """kind -> (frame, edit) of the edits that apply to a MuJoCo case."""
    out: dict[str, tuple[int, Callable]] = {}
    hidden = hidden_window(case)
    if hidden:
        out["vanish"] = (hidden[1], partial(vanish, name=hidden[0]["name"]))
    start = corruptions.onset(case)
    obj = visible_object(case, start)
    if obj:
        out["teleport"] = (start, partial(teleport, name=obj["name"]))
        out["colour"] = (start, partial(recolour, name=obj["name"], rgb=far_colour(case, obj)))
        out["size"] = (start, partial(shrink, name=obj["name"]))
    contact = first_contact(case)
    if contact:
        out["through"] = (contact[2], partial(through, name=contact[0]["name"], partner=contact[1]))
    return out


def _changed(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(np.int16) - b).max(-1) > CHANGE_THRESHOLD).sum())


def make_pairs(case: Case) -> list[VoEPair]:
    """The case's VoE pairs in KINDS order; [] without instance truth. Deterministic: no edit
    draws random numbers."""
    if "instance" not in case.truth:
        return []
    futures: dict[str, tuple[int, np.ndarray]] = {}
    if resimulable(case):
        env = case_env(case)
        try:
            for kind, (frame, edit) in mujoco_edits(case).items():
                try:
                    futures[kind] = (frame, replay(env, case, {frame: edit})[0][case.context :])
                except NotApplicable:
                    continue
        finally:
            env.close()
    else:
        edited = {
            "teleport": corruptions.teleport,
            "vanish": corruptions.vanish,
            "colour": corruptions.colour_change,
        }
        for kind, corrupt in edited.items():
            futures[kind] = (corruptions.onset(case), corrupt(case)[case.context :])
    return [
        VoEPair(case.name, kind, frame, case.future, future)
        for kind, (frame, future) in sorted(futures.items(), key=lambda kv: KINDS.index(kv[0]))
        if _changed(future, case.future) >= MIN_CHANGED
    ]
