"""How often Crafter captions recorded with `env.kwargs.hits=true` say "The player hits a cow.",
and how often that sentence says more than "The player achieves eat cow." (the windows with
hits but no cow eaten): prompt_control RESULTS section 21.

    python experiments/prompt_control/hit_windows.py STORE [STORE...]
"""

import sys

from worldsim.data.store import EpisodeStore

HIT, EAT = "The player hits a cow.", "The player achieves eat cow."


def count(root: str) -> dict:
    store = EpisodeStore(root)
    out = dict.fromkeys(["episodes", "hunting", "hits", "unlisted", "eaten", "windows"], 0)
    out |= dict.fromkeys(["say_hit", "hit_not_eat", "say_eat", "eat_not_hit"], 0)
    for name in store.names():
        ep = store.load(name)
        hits = [e for e in ep.events if e["kind"] == "hit" and e["detail"]["kind"] == "cow"]
        out["episodes"] += 1
        out["hunting"] += bool(hits)
        out["hits"] += len(hits)
        out["unlisted"] += sum(not e["objects"] for e in hits)  # cows spawned after reset
        out["eaten"] += sum(e["detail"].get("name") == "eat_cow" for e in ep.events)
        for window in ep.captions["windows"]:
            hit, eat = HIT in window["text"], EAT in window["text"]
            out["windows"] += 1
            out["say_hit"] += hit
            out["say_eat"] += eat
            out["hit_not_eat"] += hit and not eat
            out["eat_not_hit"] += eat and not hit
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for root in sys.argv[1:]:
        print(root, count(root))
