"""Where eat cow fails in the real env: each episode of a control grid is replayed from its seed
and actions (Crafter is deterministic given both; every replay's outcome is checked against the
recorded one), and the env's truth counts its steps next to a live cow, facing one, and hitting
one (`do` while facing it). A cow takes 3 hits without a sword, and the first two change nothing
on screen, so an IDM reading imagined frames cannot see them (prompt_control RESULTS section 16).

    python experiments/prompt_control/eat_cow_funnel.py RESULTS_JSON > funnel.json

RESULTS_JSON: a grid's results.json (or a compact copy) whose eat_cow episodes keep `actions`.
"""

import json
import sys
from collections import Counter

import numpy as np

from envs.make import make_env
from worldsim.control.tasks import named_task


def replay(env, episode: dict) -> dict:
    """One episode's steps next to, facing and hitting a cow, and the most hits in a row, played
    again in `env` (the eat-cow task's env, reset here to the episode's seed)."""
    _, info = env.reset(seed=episode["seed"])
    do, cow = env.unwrapped.actions.index("do"), env.unwrapped.semantic_names().index("cow")
    near = facing = hits = run = most = 0
    taken: Counter[str] = Counter()  # the actions taken while facing a cow
    for action in episode["actions"]:
        extras = info["truth"].extras
        semantic = np.pad(extras["semantic"], 1)  # (W + 2, H + 2): a cell past the edge is void
        x, y = extras["player_pos"] + 1
        near += bool(
            {semantic[x + 1, y], semantic[x - 1, y], semantic[x, y + 1], semantic[x, y - 1]} & {cow}
        )
        faced = env.unwrapped.faced() == "cow"
        facing += faced
        taken.update([env.unwrapped.actions[action]] * faced)
        hit = faced and action == do
        hits += hit
        run = run + 1 if hit else run * faced  # hits while face to face, a move away ends it
        most = max(most, run)
        _, _, _, _, info = env.step(action)
    eaten = bool(info["truth"].extras["achievements"][env.unwrapped.achievements.index("eat_cow")])
    if eaten != episode["success"]:
        raise SystemExit(f"seed {episode['seed']}: the replay differs from the recorded episode")
    return {
        "near": near,
        "facing": facing,
        "hits": hits,
        "most_hits_in_a_row": most,
        "taken": taken,
    }


def funnel(episodes: list[dict]) -> dict:
    env = make_env(named_task("eat_cow").env)  # one env: each replay resets it to its seed
    rows = [replay(env, e) for e in episodes]
    facing, hits = sum(r["facing"] for r in rows), sum(r["hits"] for r in rows)
    share = lambda key, at_least=1: sum(r[key] >= at_least for r in rows)  # noqa: E731
    return {
        "episodes": len(rows),
        "eaten": sum(e["success"] for e in episodes),
        "next_to_a_cow": share("near"),
        "facing_a_cow": share("facing"),
        "hit_a_cow": share("hits"),
        "hit_a_cow_twice_in_a_row": share("most_hits_in_a_row", 2),
        "mean_steps_facing": facing / len(rows),
        "do_share_when_facing": hits / max(1, facing),
        "actions_when_facing": dict(sum((r["taken"] for r in rows), Counter()).most_common()),
    }


if __name__ == "__main__":
    cells = json.load(open(sys.argv[1]))["cells"]["eat_cow"]
    print(json.dumps({name: funnel(cell["episodes"]) for name, cell in cells.items()}, indent=1))
