"""Train and measure the inverse dynamics model of one env on recorded episodes (CPU).

    python experiments/prompt_control/train_idm.py crafter TRAIN_STORE TEST_STORE OUT.pt [STEPS]
    python experiments/prompt_control/train_idm.py push TRAIN_STORE TEST_STORE OUT.pt [STEPS] [JSON]
    (TRAIN_STORE may list several stores, comma-separated)
    python experiments/prompt_control/train_idm.py pack STORE OUT.npz   # frames+actions to carry

Crafter (17 discrete actions, classified): accuracy on every held-out transition, and on the
identifiable ones. A transition is identifiable when the truth shows the action's effect: the
player moved or turned, fell asleep, or an action achievement (collect, place, make, eat,
drink, defeat) was counted. Anything else (noop, walking into a wall it already faces, `do` on
grass, making without a table, ...) leaves the frame as a noop would, so no IDM can name it.
Sleeping is not in the recorded truth, so the held-out episodes are replayed (the env is
deterministic per seed; the replay checks that its frames equal the recording).
`crafter-effect` trains on effect labels: unidentifiable actions relabelled noop, so that the IDM
reads noop where imagined frames show nothing (the plain one reads its data's most common
unidentifiable action, `do`).
Push (2 continuous axes, regressed): R^2 = 1 - SSE / SST over the held-out transitions, and on
those where the agent moved (the others were pinned at the arena's edge or blocked), and by
the share of random actions of the episode's policy (mixed: 0, 0.1, 0.3 or 1 by seed).
Writes OUT.pt and OUT.json (the metrics and the command); STEPS=0 measures OUT.pt again; JSON
overrides IDMConfig knobs of CONFIGS (e.g. '{"frames": 4}').
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from envs.make import EnvConfig, make_env
from worldsim.data.store import EpisodeStore
from worldsim.models.idm import IDMConfig, load_idm, train_idm

CONFIGS = {  # the shipped IDMs' knobs
    "crafter-effect": dict(action_dim=17, width=32, frames=2, loss="ce", batch_size=64, lr=2e-3),
    "crafter": dict(action_dim=17, width=32, frames=2, loss="ce", batch_size=64, lr=2e-3),
    "push": dict(action_dim=2, width=32, frames=6, after=2, loss="mse", batch_size=64, lr=2e-3),
}
MOVED_M = 0.01  # metres per frame below which the push agent did not move
ACTION_ACHIEVEMENTS = ("collect_", "place_", "make_", "eat_", "defeat_")
NOOP = 0  # crafter's noop action index


@dataclass
class Recording:
    """What the IDM needs of a recorded episode."""

    frames: np.ndarray  # (T, H, W, 3) uint8
    actions: np.ndarray  # (T, A) codec vectors
    agent: np.ndarray  # (T, 2) push agent's floor position (empty for crafter)
    meta: dict  # the episode's meta (env config, seed, codec)

    @property
    def length(self) -> int:
        return len(self.frames)


def load(root: str) -> list[Recording]:
    """The episodes of a store directory, or of a pack written by `pack`."""
    if root.endswith(".npz"):
        z = np.load(root, allow_pickle=False)
        metas, ends = json.loads(str(z["meta"])), np.cumsum(z["lengths"])
        cut = lambda key: np.split(z[key], ends[:-1])  # noqa: E731
        return [Recording(*parts, m) for *parts, m in zip(cut("frames"), cut("actions"),
                                                          cut("agent"), metas)]  # fmt: skip
    store = EpisodeStore(root)
    out = []
    for name in store.names():
        e = store.load(name, mmap=False)
        agent = e.truth.get("obj_position", np.zeros((e.length, 1, 3)))[:, -1, :2]
        out.append(Recording(np.asarray(e.frames), np.asarray(e.actions), agent, e.meta))
    return out


def pack(root: str, out: str) -> None:
    """Frames, actions and agent positions of a store in one compressed file (to carry)."""
    eps = load(root)
    np.savez_compressed(
        out,
        frames=np.concatenate([e.frames for e in eps]),
        actions=np.concatenate([e.actions for e in eps]),
        agent=np.concatenate([e.agent for e in eps]),
        lengths=np.array([e.length for e in eps]),
        meta=np.array(json.dumps([e.meta for e in eps])),
    )


def crafter_identifiable(episode) -> np.ndarray:
    """(T - 1,) bool: transitions whose action's effect the truth shows (replayed for sleep)."""
    cfg = EnvConfig(**episode.meta["env_config"])
    env = make_env(cfg)
    obs, _ = env.reset(seed=int(episode.meta["seed"]))
    player = env.unwrapped._env._player
    names = env.unwrapped.achievements
    counted = [i for i, n in enumerate(names) if n.startswith(ACTION_ACHIEVEMENTS)]
    out = []
    for t in range(1, episode.length):
        before = (tuple(player.pos), tuple(player.facing), player.sleeping)
        ach = np.array([player.achievements[n] for n in names])
        obs, *_ = env.step(int(episode.actions[t].argmax()))
        assert np.array_equal(obs, episode.frames[t]), "replay diverged from the recording"
        after = (tuple(player.pos), tuple(player.facing), player.sleeping)
        gained = np.array([player.achievements[n] for n in names])[counted] > ach[counted]
        fell_asleep = player.sleeping and not before[2]
        out.append(before[:2] != after[:2] or fell_asleep or gained.any())
    env.close()
    return np.array(out)


def identifiable_all(episodes) -> list[np.ndarray]:
    """`crafter_identifiable` of every episode, on every core."""
    from multiprocessing import Pool

    with Pool() as pool:
        return pool.map(crafter_identifiable, episodes)


def effect_labels(episodes) -> list[Recording]:
    """The episodes with each unidentifiable action relabelled noop (what the frames show)."""
    out = []
    for e, ident in zip(episodes, identifiable_all(episodes)):
        actions = e.actions.copy()
        actions[1:][~ident] = np.eye(actions.shape[1])[NOOP]
        out.append(Recording(e.frames, actions, e.agent, e.meta))
    return out


def crafter_metrics(idm, episodes) -> dict:
    read = np.concatenate([idm.read_actions(e.frames).argmax(-1) for e in episodes])
    true = np.concatenate([np.asarray(e.actions[1:]).argmax(-1) for e in episodes])
    ident = np.concatenate(identifiable_all(episodes))
    names = episodes[0].meta["action_codec"]["names"]
    ok = read == true
    per_action = {
        names[a]: {"n": int((true == a).sum()), "accuracy": float(ok[true == a].mean()),
                   "identifiable": int((ident & (true == a)).sum()),
                   "accuracy_identifiable": float(ok[ident & (true == a)].mean())
                   if (ident & (true == a)).any() else None}
        for a in range(len(names)) if (true == a).any()
    }  # fmt: skip
    return {
        "transitions": int(len(true)),
        "accuracy": float(ok.mean()),
        "identifiable": int(ident.sum()),
        "accuracy_identifiable": float(ok[ident].mean()),
        # right when it names an identifiable action, or reads noop where nothing shows
        "accuracy_effect": float(np.where(ident, ok, read == NOOP).mean()),
        "unidentifiable_read_as": {
            names[a]: int(((read == a) & ~ident).sum()) for a in np.unique(read[~ident])
        },
        "per_action": per_action,
    }


def r2(read: np.ndarray, true: np.ndarray) -> float:
    return float(1 - ((read - true) ** 2).sum() / ((true - true.mean(0)) ** 2).sum())


def push_metrics(idm, episodes) -> dict:
    read = np.concatenate([idm.read_actions(e.frames) for e in episodes])
    true = np.concatenate([np.asarray(e.actions[1:]) for e in episodes])
    steps = [np.linalg.norm(np.diff(e.agent, axis=0), axis=1) for e in episodes]  # (T - 1,) each
    moved = np.concatenate(steps) > MOVED_M
    eps = np.concatenate([np.full(e.length - 1, e.meta["epsilon"]) for e in episodes])
    return {
        "transitions": int(len(true)),
        "r2": r2(read, true),
        "r2_by_random_share": {str(x): r2(read[eps == x], true[eps == x]) for x in np.unique(eps)},
        "r2_per_axis": [r2(read[:, i], true[:, i]) for i in range(true.shape[1])],
        "moved": int(moved.sum()),
        "r2_moved": r2(read[moved], true[moved]),
    }


def main(family: str, train_root: str, test_root: str, out: str, steps=3000, knobs="{}") -> None:
    torch.set_num_threads(2)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    train = [e for root in train_root.split(",") for e in load(root)]  # TRAIN: root[,root...]
    if family == "crafter-effect":
        train = effect_labels(train)
    steps = int(steps)
    cfg = IDMConfig(**{**CONFIGS[family], **json.loads(knobs)}, steps=steps, cosine=True)
    t0 = time.time()
    if steps:
        idm = train_idm([(e.frames, e.actions) for e in train], cfg, True, device)
        idm.save(out)
    else:  # measure the saved one again
        idm = load_idm(out)
        cfg = idm.cfg
    seconds = time.time() - t0
    test = load(test_root)
    metrics = (push_metrics if family == "push" else crafter_metrics)(idm, test)
    report = {
        "command": "python " + " ".join(sys.argv),
        "config": cfg.__dict__,
        "train_transitions": int(sum(e.length - 1 for e in train)),
        "train_seconds": round(seconds, 1),
        "train_device": device,
        "test": metrics,
    }
    with open(out.replace(".pt", ".json"), "w") as fh:
        json.dump(report, fh, indent=1)
    print(json.dumps({k: v for k, v in metrics.items() if k != "per_action"}, indent=1))


if __name__ == "__main__":
    if sys.argv[1] == "pack":
        sys.exit(pack(sys.argv[2], sys.argv[3]))
    main(*sys.argv[1:])
