"""Captions from truth and events: a seeded grammar turning object tracks and events into text.

The helpers (`Grammar`, `object_phrase`, `count_word`, `join`, `windows_of`, `camera_motion`) are
simulator agnostic; `describe_episode` phrases a physics scene from its recorded truth, its events
and a dict of static scene facts (see `MujocoSceneEnv.scene_facts`). The same seed gives the same
text.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from envs.base import Captions

WINDOW = 16  # frames per captioned clip window
REST_SPEED = 0.05  # m/s below which an object is at rest
# m/s of impact below which a bounce rises a few centimetres at most: not worth words
VISIBLE_BOUNCE = 0.8
NOUNS = {
    "sphere": ("ball", "sphere"),
    "box": ("box", "block", "cube"),
    "cylinder": ("cylinder", "can"),
    "agent": ("puck", "pusher"),
}
COUNTS = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


class Grammar:
    """Deterministic phrase choices: the k-th choice of a seed is always the same."""

    def __init__(self, seed: int, salt: str = ""):
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(salt.encode())])

    def pick(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]


def size_word(radius: float) -> str:
    """'small' / '' / 'large' for the equivalent radius of an object (metres)."""
    return "small" if radius < 0.12 else "large" if radius > 0.17 else ""


def object_phrase(obj: dict[str, Any], g: Grammar, article: str = "a") -> str:
    """'a small red ball' from an object fact {shape, colour, radius, agent}."""
    kind = "agent" if obj.get("agent") else obj["shape"]
    noun = g.pick(NOUNS.get(kind, (kind,)))
    words = [w for w in (size_word(obj.get("radius", 0.12)), obj.get("colour", ""), noun) if w]
    phrase = " ".join(words)
    if article == "a":
        article = "an" if phrase[0] in "aeiou" else "a"
    return f"{article} {phrase}" if article else phrase


def short_name(obj: dict[str, Any]) -> str:
    """'red ball': the colour and first noun, for references after the first mention."""
    kind = "agent" if obj.get("agent") else obj["shape"]
    return f"{obj.get('colour', '')} {NOUNS.get(kind, (kind,))[0]}".strip()


def count_word(n: int) -> str:
    return COUNTS.get(n, f"{n} times")


def join(parts: Sequence[str], last: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {last} " + parts[-1]


def windows_of(length: int, window: int = WINDOW) -> list[tuple[int, int]]:
    """Consecutive [start, end) windows covering `length` frames; the last one may be shorter."""
    return [(s, min(s + window, length)) for s in range(0, length, window)]


def camera_motion(extrinsics: np.ndarray, still_tol: float = 1e-3) -> str:
    """Camera motion phrase from world->camera poses (T, 4, 4), z up.

    For example 'is still' or 'pans left and back'.
    """
    rot, trans = extrinsics[:, :3, :3].astype(np.float64), extrinsics[:, :3, 3].astype(np.float64)
    centre = -np.einsum("tji,tj->ti", rot, trans)  # (T, 3) camera centres
    forward = rot[:, 2, :]  # (T, 3) optical axes in world
    heading = np.unwrap(np.arctan2(forward[:, 1], forward[:, 0]))
    turn = heading - heading[0]
    moved = np.linalg.norm(centre - centre[0], axis=1)
    if moved.max() < still_tol and np.abs(turn).max() < still_tol:
        return "is still"
    returns = moved[-1] < 0.05 * max(moved.max(), still_tol) and abs(turn[-1]) < 0.05 * max(
        np.abs(turn).max(), 1e-9
    )
    if moved.max() < still_tol:
        peak = turn[np.argmax(np.abs(turn))]
        side = "left" if peak > 0 else "right"
        return f"pans {side} and back" if returns else f"pans {side}"
    reach = np.linalg.norm(centre[:, :2], axis=1)
    verb = "moves around the scene"
    if np.abs(turn).max() < 0.05:
        verb = "moves closer" if reach[-1] < reach[0] else "moves away"
    return verb + (" and returns to where it started" if returns else "")


# ------------------------------------------------------------------ physics scenes


@dataclass(frozen=True)
class Span:
    """Frames [start, end) of a recorded physics episode and what its caption is made of."""

    facts: dict[str, Any]  # static scene facts (`MujocoSceneEnv.scene_facts`)
    truth: dict[str, np.ndarray]  # the episode's truth arrays, frame first
    events: list[dict[str, Any]]  # the episode's events: kind, frame, objects, detail
    start: int  # first frame
    end: int  # one past the last frame

    def events_of(self, i: int) -> list[dict[str, Any]]:
        """The events of object i inside the span."""
        return [e for e in self.events if i in e["objects"] and self.start <= e["frame"] < self.end]


def _motion_clauses(i: int, span: Span, g: Grammar) -> list[str]:
    """What object i does in the span, as verb phrases in time order."""
    facts = span.facts
    start, end = span.start, span.end
    objs = facts["objects"]
    pos = span.truth["obj_position"][start:end, i]  # (T, 3)
    vel = span.truth["obj_velocity"][start:end, i]  # (T, 3)
    mine = span.events_of(i)
    clauses = []
    lift = float(pos[0, 2] - objs[i]["radius"])
    if start == 0 and objs[i]["start_height"] > 0.08 and len(pos) > 1 and vel[:3, 2].mean() <= 0:
        onto = f"onto the {facts['floor']} floor"
        clauses.append(
            g.pick(
                [
                    f"falls from {objs[i]['start_height']:.1f} m {onto}",
                    f"drops {objs[i]['start_height']:.1f} m {onto}",
                ]
            )
        )
    elif start == 0 and lift > 0.15 and np.linalg.norm(vel[0]) > 1.0:
        clauses.append(
            g.pick(["flies through the air", "is thrown through the air", "arcs through the air"])
        )
    bounces, said = 0, set()
    for e in sorted(mine, key=lambda e: e["frame"]):
        key, kind, detail = _event_key(i, e, facts), e["kind"], e["detail"]
        if kind == "bounce" and detail.get("surface", "floor") == "floor":
            bounces += detail.get("speed", 0.0) >= VISIBLE_BOUNCE
            continue
        if key in said:
            continue  # one mention of each wall, partner and pusher is enough
        if bounces:
            clauses.append(f"bounces {count_word(bounces)}")
            bounces = 0
        clauses.append(_event_clause(i, e, facts, g))
        if kind in ("bounce", "collision", "contact"):
            said.add(key)
    if bounces:
        clauses.append(f"bounces {count_word(bounces)}")
    speed_end = float(np.linalg.norm(vel[-1]))
    on_floor = abs(float(pos[-1, 2]) - objs[i]["radius"]) < 0.1 or pos[-1, 2] < 0.25
    if speed_end < REST_SPEED and (clauses or len(pos) > 1 and np.linalg.norm(vel[0]) > REST_SPEED):
        near = _nearest(i, pos[-1], span.truth["obj_position"][end - 1], objs)
        clauses.append(
            g.pick(["comes to rest", "settles", "stops"]) + (f" beside the {near}" if near else "")
        )
    elif speed_end >= REST_SPEED and on_floor and not clauses:
        clauses.append(
            g.pick(["rolls across the floor", "moves along the floor", "slides across the floor"])
        )
    elif speed_end < REST_SPEED and not clauses:
        clauses.append(g.pick(["sits still", "rests on the floor", "stays put"]))
    return clauses


def _event_key(i: int, e: dict[str, Any], facts: dict[str, Any]) -> tuple:
    """Events with equal keys read the same; the arena's four walls are all 'the wall'."""
    others = tuple(o for o in e["objects"] if o != i)
    return e["kind"], others, _scenery_words(e["detail"].get("surface", ""), facts)


def _event_clause(i: int, e: dict[str, Any], facts: dict[str, Any], g: Grammar) -> str:
    """Verb phrase of object i for one event that is not a floor bounce."""
    objs, kind = facts["objects"], e["kind"]
    others = [o for o in e["objects"] if o != i]
    if kind == "collision":
        return (
            g.pick(["hits", "collides with", "crashes into"])
            + f" the {short_name(objs[others[0]])}"
        )
    if kind == "bounce":
        return (
            g.pick(["hits", "bumps into"]) + " the " + _scenery_words(e["detail"]["surface"], facts)
        )
    if kind == "contact":
        if objs[i].get("agent"):
            return g.pick(["pushes", "shoves", "bumps"]) + f" the {short_name(objs[others[0]])}"
        return g.pick(["is pushed by", "gets shoved by"]) + f" the {short_name(objs[others[0]])}"
    if kind == "occlusion_start":
        return (
            g.pick(["disappears behind", "passes behind", "is hidden by"])
            + " the "
            + _scenery_words(e["detail"].get("by", ""), facts)
        )
    phrases = {
        "occlusion_end": ["reappears", "comes back out", "emerges again"],
        "exit_view": ["leaves the view", "goes out of frame"],
        "enter_view": ["comes back into view", "returns to the frame"],
    }
    return g.pick(phrases.get(kind, [kind.replace("_", " ")]))


def _scenery_words(name: str, facts: dict[str, Any]) -> str:
    """'tall teal wall' for an occluder, 'wall' for the arena's walls, else an object's name."""
    for occ in facts["occluders"]:
        if occ["name"] == name:
            tall = "tall " if occ["height"] > 0.6 else ""
            return f"{tall}{occ['colour']} {name}"
    for obj in facts["objects"]:
        if obj.get("name") == name:
            return short_name(obj)
    return "wall" if name.startswith("wall") or name in ("", "nothing") else name


def _nearest(i: int, p: np.ndarray, positions: np.ndarray, objs: list[dict[str, Any]]) -> str:
    """The closest other object within 0.6 m, as 'red ball', or ''."""
    best, best_d = "", 0.6
    for j, q in enumerate(positions):
        d = float(np.linalg.norm(q[:2] - p[:2]))
        if j != i and d < best_d:
            best, best_d = short_name(objs[j]), d
    return best


def describe_span(span: Span, camera: str, g: Grammar) -> str:
    """One caption for the span: a sentence per object, then the camera."""
    sentences = []
    for i, obj in enumerate(span.facts["objects"]):
        clauses = _motion_clauses(i, span, g)
        subject = object_phrase(obj, g)
        sentences.append(subject[0].upper() + subject[1:] + " " + join(clauses) + ".")
    cam = g.pick(
        [
            f"The camera {camera}.",
            "The view is fixed." if camera == "is still" else f"The camera {camera}.",
        ]
    )
    return " ".join(sentences + [cam])


def describe_episode(
    record: dict[str, Any], facts: dict[str, Any], seed: int, window: int = WINDOW
) -> Captions:
    """Long caption, short prompt and per-window captions of a recorded physics episode."""
    truth, events = record["truth"], record["events"]
    length = len(record["frames"])
    extr = truth["extrinsics"]
    whole = Span(facts, truth, events, 0, length)
    long = describe_span(whole, camera_motion(extr), Grammar(seed, "long"))
    windows = []
    for start, end in windows_of(length, window):
        span = replace(whole, start=start, end=end)
        text = describe_span(span, camera_motion(extr[start:end]), Grammar(seed, f"w{start}"))
        windows.append({"start": start, "end": end, "text": text})
    return Captions(
        long=long, prompt=_prompt(facts, events, Grammar(seed, "prompt")), windows=windows
    )


def _prompt(facts: dict[str, Any], events: list[dict[str, Any]], g: Grammar) -> str:
    """A few words a user would type for this scene."""
    objs = facts["objects"]
    main = short_name(objs[0]) if objs else "scene"
    verbs = {
        "bounce": ["bouncing", "falling and bouncing"],
        "collide": ["colliding", "crashing together"],
        "occlude": ["rolling behind a wall", "passing behind a wall"],
        "orbit": ["camera orbiting objects", "orbiting around objects"],
        "push": ["pushing objects", "puck pushing blocks"],
    }
    verb = g.pick(verbs.get(facts["scenario"], ["moving"]))
    if facts["scenario"] in ("orbit", "push"):
        return verb
    others = len(objs) - 1
    subject = (
        main if others == 0 else f"{main} and {others} other object{'s' if others > 1 else ''}"
    )
    return f"{subject} {verb}"


# ------------------------------------------------------------------ push with direction words

# camera-relative floor directions as signs on (right, towards-camera), as control's push tasks
FLOOR_DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "forward": (0, -1), "back": (0, 1)}
MOVE_M = 0.1  # net metres in a window below which a body "stays still"
CONTACT_LEAD = 4  # frames before a window in which the puck's contact still explains a slide
PUSHES = "The puck pushes "  # how every push sentence begins: the event of a Push caption


def floor_directions(shift: np.ndarray, right: np.ndarray, towards: np.ndarray) -> list[str]:
    """A floor displacement (2,) -> its main direction word, then the other axis's when that is
    at least half as large: ['left'], ['forward', 'right']; [] below MOVE_M."""
    r, t = float(shift @ right[:2]), float(shift @ towards[:2])
    if np.hypot(r, t) < MOVE_M:
        return []
    along = {"right": r, "towards": t}
    major, minor = sorted(along, key=lambda k: -abs(along[k]))
    words = [_direction_word(major, along[major])]
    if abs(along[minor]) >= 0.5 * abs(along[major]):
        words.append(_direction_word(minor, along[minor]))
    return words


def _direction_word(axis: str, value: float) -> str:
    if axis == "right":
        return "right" if value > 0 else "left"
    return "back" if value > 0 else "forward"


def push_sentences(colours: Sequence[str], shapes: Sequence[str]) -> list[str]:
    """Every sentence of `push_window_sentences` for objects of these colours and shapes: the
    closed vocabulary of Push captions with direction words, for a text table made without the
    episodes."""
    out = ["The puck stays still."]
    for major, (major_right, _) in FLOOR_DIRECTIONS.items():
        out.append(f"The puck moves {major}.")
        out += [
            f"The puck moves {major} and {minor}."
            for minor, (minor_right, _) in FLOOR_DIRECTIONS.items()
            if (major_right == 0) != (minor_right == 0)  # the other axis
        ]
    for colour in colours:
        for shape in shapes:
            name = short_name({"shape": shape, "colour": colour})
            for d in FLOOR_DIRECTIONS:
                out += [f"{PUSHES}the {name} {d}.", f"The {name} slides {d}."]
    return out


def push_window_sentences(
    span: Span, right: np.ndarray, towards: np.ndarray, agent: int
) -> list[str]:
    """['The puck moves left.', 'The puck pushes the red ball left.']: where the puck (object
    `agent`) went in the span, then each object that moved, pushed by the puck if it touched
    them. Directions are camera-relative (`right`, `towards` the camera, on the floor)."""
    pos = span.truth["obj_position"][span.start : span.end, :, :2]  # (T, N, 2)
    last = len(pos) - 1
    moves = floor_directions(pos[last, agent] - pos[0, agent], right, towards)
    sentences = [f"The puck moves {' and '.join(moves)}." if moves else "The puck stays still."]
    touched = {  # the objects the puck touched in the span or just before it
        o
        for e in span.events
        if e["kind"] == "contact"
        and agent in e["objects"]
        and span.start - CONTACT_LEAD <= e["frame"] < span.end
        for o in e["objects"]
    }
    for i, obj in enumerate(span.facts["objects"]):
        words = floor_directions(pos[last, i] - pos[0, i], right, towards)
        if i == agent or not words:
            continue
        name = short_name(obj)
        verb = f"{PUSHES}the {name}" if i in touched else f"The {name} slides"
        sentences.append(f"{verb} {words[0]}.")
    return sentences


def describe_push_episode(
    record: dict[str, Any],
    facts: dict[str, Any],
    right: np.ndarray,
    towards: np.ndarray,
    window: int = WINDOW,
) -> Captions:
    """Push captions in `push_window_sentences`' closed vocabulary (`push_sentences`): the whole
    episode, each window, and the prompt a user would type for the episode's first push."""
    truth, events = record["truth"], record["events"]
    agent = next(i for i, o in enumerate(facts["objects"]) if o["agent"])
    whole = Span(facts, truth, events, 0, len(record["frames"]))
    spans = windows_of(whole.end, window)
    said = [
        push_window_sentences(replace(whole, start=s, end=e), right, towards, agent)
        for s, e in spans
    ]
    first_push = next((x for w in said for x in w if x.startswith(PUSHES)), "")
    return Captions(
        long=" ".join(push_window_sentences(whole, right, towards, agent)),
        # "The puck pushes the red ball left." -> "push the red ball left"
        prompt="push " + first_push.removeprefix(PUSHES)[:-1] if first_push else "move the puck",
        windows=[
            {"start": s, "end": e, "text": " ".join(w)}
            for (s, e), w in zip(spans, said, strict=True)
        ],
    )
