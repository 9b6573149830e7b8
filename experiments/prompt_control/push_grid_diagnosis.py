"""Why Push control succeeds or fails, stage by stage, from a grid's finished episodes: each
episode's actions are replayed in the real env (same seed, same scene; `replayed_exactly` counts
the episodes whose last progress the replay reproduces) and read against the task's
camera-relative direction.

Per task x policy: success; the IDM's reading of the plans along the named direction and across
it (prompt policies; in command units, full command = 1); the real puck's net travel along the
named direction; the share of steps it stood still (pinned against a wall or an object); the
share of episodes in which the named object moved at all; and success split by the start's
geometry: was the named object already ahead of the puck on the push line (ahead along the
direction, off the line by less than `LINE_M`)? A policy that drives the puck the named way
without going round to the object's far side succeeds only from such starts. And whether the
first plan (one real frame, the puck at rest) heads for the named object.

Successes are also counted within shorter horizons (`HORIZONS`): an episode stops at success and
its plans see only its past, so a shorter `control.max_steps` would have played the same steps.

Usage: python experiments/prompt_control/push_grid_diagnosis.py [seeds=A:B] GRID_DIR... > OUT.json
GRID_DIR: a `worldsim control` out folder, or a folder of them (run_grid.sh's OUT); seeds: only
the episodes of seeds A..B-1 (e.g. the baselines on the grid's seeds).
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from envs.captions import FLOOR_DIRECTIONS
from envs.make import EnvConfig, make_env
from envs.mujoco.scenarios import floor_command
from worldsim.control.tasks import named_task
from worldsim.jobs.control import HELD_OUT_SEED

LINE_M = 0.2  # off the push line by less than this: the object is "ahead" (its radius ~0.1 m)
STILL_M = 0.002  # the puck moved less than this in a step: it stood still
MOVED_M = 0.02  # the named object moved at least this over the episode: the puck reached it
HORIZONS = (50, 100, 300)  # env steps within which successes are also counted


def replay(record: dict) -> dict:
    """One episode's row replayed: the puck's and the named object's motion on the task axis."""
    row, source = record["row"], record["config"]["source"]
    env_cfg = EnvConfig(**source["env"])
    task = named_task(row["task"], env_cfg)
    env = make_env(env_cfg)
    try:
        _, info = env.reset(seed=row["seed"])
        start = task.start(env, info)
        pose = env.unwrapped.pose  # the camera: what "left" and "forward" mean
        puck = next(o.id for o in env.unwrapped.object_table() if o.category == "agent")
        pos = [np.asarray(info["truth"].objects.position, np.float64)]  # (objects, 3) per frame
        for action in row["actions"]:
            _, _, _, _, info = env.step(np.asarray(action, np.float32))
            pos.append(np.asarray(info["truth"].objects.position, np.float64))
        replayed = task.progress(start, info)  # the episode's last progress, replayed
    finally:
        env.close()
    pos = np.stack(pos)[..., :2]  # (T, objects, 2) floor positions
    axis = np.asarray(start["axis"])[:2]
    offset = pos[0, start["object"]] - pos[0, puck]
    lateral = np.linalg.norm(offset - (offset @ axis) * axis)
    steps = np.linalg.norm(np.diff(pos[:, puck], axis=0), axis=-1)  # (T - 1,)
    a, b = FLOOR_DIRECTIONS[row["task"].removeprefix("push_")]
    named = np.array([a, -b], np.float64)  # the direction as a (right, forward) command
    first = np.array(row["plans"][0]["read"]).mean(0) if row["plans"] else None  # (2,)
    pushed = np.linalg.norm(pos[:, start["object"]] - pos[0, start["object"]], axis=-1).max()
    reads = np.array([r for plan in row["plans"] for r in plan["read"]] or np.zeros((0, 2)))
    return {
        "success": bool(row["success"]),
        "steps": int(row["steps"]),
        "replayed": bool(abs(replayed - row["progress"]) < 1e-6),
        "ahead": bool(offset @ axis > 0 and lateral < LINE_M),
        "puck_travel_m": float((pos[-1, puck] - pos[0, puck]) @ axis),
        "still_share": float((steps < STILL_M).mean()) if len(steps) else 0.0,
        "object_moved": bool(pushed >= MOVED_M),
        "read_along": float((reads @ named).mean()) if len(reads) else None,
        "read_across": float(np.abs(reads @ named[::-1]).mean()) if len(reads) else None,
        # the first plan (from the one frame after reset, the puck at rest) heads for the named
        # object: the cosine of its mean reading and the puck-to-object direction, as a command
        "first_to_object": None if first is None else cosine(first, floor_command(offset, pose)),
        "first_named_way": None if first is None else bool(first @ named > 0),
    }


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def summarise(rows: list[dict]) -> dict:
    out = {"n": len(rows), "successes": sum(r["success"] for r in rows)}
    out["replayed_exactly"] = sum(r["replayed"] for r in rows)  # the replay is the episode
    out["successes_within"] = {h: sum(r["success"] and r["steps"] <= h for r in rows)
                               for h in HORIZONS}  # fmt: skip
    heads = [r["first_to_object"] for r in rows if r["first_to_object"] is not None]
    if heads:
        out["first_plan_heads_for_object"] = f"{sum(c > 0 for c in heads)}/{len(heads)}"
        ways = [r["first_named_way"] for r in rows]
        out["first_plan_reads_named_way"] = f"{sum(ways)}/{len(ways)}"
    for key in ("puck_travel_m", "still_share", "read_along", "read_across", "first_to_object"):
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = round(float(np.mean(values)), 3) if values else None
    out["object_moved_share"] = round(float(np.mean([r["object_moved"] for r in rows])), 3)
    for ahead in (True, False):
        part = [r for r in rows if r["ahead"] == ahead]
        key = "from_ahead" if ahead else "from_elsewhere"
        out[key] = f"{sum(r['success'] for r in part)}/{len(part)}"
    return out


def main(*args: str) -> None:
    first, last, folders = 0, 10**9, args
    if args and args[0].startswith("seeds="):
        first, last = map(int, args[0].removeprefix("seeds=").split(":"))
        folders = args[1:]
    cells = defaultdict(list)
    for folder in folders:
        for path in sorted(Path(folder).rglob("episodes/*.json")):
            record = json.loads(path.read_text())
            row = record["row"]
            if not first <= row["seed"] - HELD_OUT_SEED < last:
                continue
            policy = row["policy"] + ("_full_speed" if record["config"]["control"].get(
                "full_speed") else "")  # fmt: skip
            cells[row["task"], policy].append(replay(record))
    out = defaultdict(dict)
    for (task, policy), rows in sorted(cells.items()):
        out[task][policy] = summarise(rows)
    every = defaultdict(list)
    for (_, policy), rows in cells.items():
        every[policy] += rows
    out["all tasks"] = {policy: summarise(rows) for policy, rows in sorted(every.items())}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
