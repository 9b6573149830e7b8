"""Where eat cow fails in the real env: each episode of a control grid is replayed from its seed
and actions (Crafter is deterministic given both; every replay's outcome is checked against the
recorded one), and the env's truth counts its steps next to a live cow, facing one, and hitting
one (`do` while facing it). A cow takes 3 hits without a sword, and the first two change nothing
on screen, so an IDM reading imagined frames cannot see them (prompt_control RESULTS section 16).

    python experiments/prompt_control/eat_cow_funnel.py RESULTS_JSON > funnel.json
    python experiments/prompt_control/eat_cow_funnel.py --stores STORE... > data.json

RESULTS_JSON: a grid's results.json (or a compact copy) whose eat_cow episodes keep `actions`.
`--stores`: the same counts of facing a cow, off recorded Crafter stores' truth: what the world
model's training data shows a player facing a cow doing next, and how often the control loop's
IDM reads a strike there off the true frames (RESULTS section 28).
"""

import json
import sys
from collections import Counter

import numpy as np

from envs.make import make_env
from worldsim.control.tasks import named_task
from worldsim.data.store import EpisodeStore
from worldsim.jobs.control import IDM_ASSETS
from worldsim.models.idm import load_idm


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


def recorded(root: str, cow: int, idm) -> dict:
    """Steps facing a cow in a store's episodes, the action taken next (`actions[t + 1]` follows
    frame t: a store's actions[t] is the one that led to frame t), and how often the control
    loop's `idm` reads `do` off the true frames there: when it was `do` (two strikes of three
    change nothing on screen) and when it was not."""
    store = EpisodeStore(root)
    facing, taken, read_do = 0, Counter(), Counter()
    for name in store.names():
        ep = store.load(name)
        names = ep.meta["action_codec"]["names"]
        do = names.index("do")
        pos, heading = ep.truth["extra_player_pos"], ep.truth["extra_facing"]  # (T, 2) each
        semantic = ep.truth["extra_semantic"]  # (T, W, H) ids
        read = idm.read_actions(np.asarray(ep.frames)).argmax(-1)  # (T - 1,): read[t] = t + 1's
        for t in range(len(ep.actions) - 1):
            x, y = np.add(pos[t], heading[t])
            inside = 0 <= x < semantic.shape[1] and 0 <= y < semantic.shape[2]
            if inside and semantic[t, x, y] == cow:
                true = int(np.argmax(ep.actions[t + 1]))
                facing += 1
                taken[names[true]] += 1
                read_do["do" if true == do else "other"] += int(read[t] == do)
    strikes = taken["do"]
    return {
        "episodes": len(store.names()),
        "steps_facing_a_cow": facing,
        "do_share_when_facing": strikes / max(1, facing),
        "idm_reads_do_when_do": read_do["do"] / max(1, strikes),
        "idm_reads_do_when_not": read_do["other"] / max(1, facing - strikes),
        "actions_when_facing": dict(taken.most_common()),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stores"]:
        cow = make_env(named_task("eat_cow").env).unwrapped.semantic_names().index("cow")
        idm = load_idm(IDM_ASSETS / "crafter.pt")  # the control loop's
        print(json.dumps({root: recorded(root, cow, idm) for root in sys.argv[2:]}, indent=1))
    else:
        cells = json.load(open(sys.argv[1]))["cells"]["eat_cow"]
        print(
            json.dumps({name: funnel(cell["episodes"]) for name, cell in cells.items()}, indent=1)
        )
