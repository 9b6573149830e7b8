"""Eat cow from face to face: does the loop strike three times when it already faces a cow?

Sections 16 and 18 of RESULTS.md: the prompted player reaches and faces cows, then walks on. A
plan executes `control.execute` actions (4) read off 8 imagined frames, and the imagined frames
show the cow gone after one strike (the first two of three change nothing on screen), so a plan
holds one `do` and then moves. Replanning after every action (execute 1) would imagine the
strike again from the real frame, where the cow still stands.

Each start: held-out seed 200,000 + k of the eat-cow task, the scripted hunter played until the
player first faces a live cow (replayed from the seed for every arm: Crafter is deterministic).
From there each arm (ARMS: prompt or no prompt, execute 1 or 4, the prompt without its
movement sentence, without guidance, or with the hit sentence; LIKELIHOOD_ARMS: the
prompt-likelihood planner, with the prompt or without) plays STEPS steps of the loop, all
starts in lockstep; the real env's truth counts the cows eaten, the steps facing a cow and the
`do`s among them.

    [DEVICE=cuda] python experiments/prompt_control/cow_face_probe.py STARTS STEPS [CKPT [ARM...]] \
        > probe.json

ARM: one of ARMS or LIKELIHOOD_ARMS (default: the first four of ARMS). Before the arms, "vae":
how well the world model's autoencoder keeps the faced cow: PSNR of the faced cell against the
whole frame's, each start's frame encoded with the 4 before it, as the loop encodes them. With
STRIPS=DIR, each arm's first plans of the first 8 starts are drawn to DIR/<arm>.png: a row per
start, the real frame the player faces the cow in, then the imagined frames the plan's actions
were read off.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from envs.make import make_env
from worldsim.control.control_config import ImagineConfig, LikelihoodConfig
from worldsim.control.imagine import Imaginer
from worldsim.control.likelihood import LikelihoodPolicy
from worldsim.control.policies import PromptPolicy
from worldsim.control.prompts import expand
from worldsim.control.tasks import named_task
from worldsim.intervals import wilson
from worldsim.jobs.control import IDM_ASSETS
from worldsim.metrics import psnr
from worldsim.models.idm import load_idm
from worldsim.training.world_model import load_world_model

FIRST_SEED, LOOK = 200_000, 150  # held-out control seeds; scripted steps allowed to find a cow
# arm -> (prompted, execute, the prompt's movement sentence, text guidance, the prompt's hit
# sentence "The player hits a cow." (control.hits; RESULTS section 21))
ARMS = {
    "prompt_execute1": (True, 1, True, 4.0, False),
    "prompt_execute4": (True, 4, True, 4.0, False),
    "no_prompt_execute1": (False, 1, True, 4.0, False),
    "no_prompt_execute4": (False, 4, True, 4.0, False),
    "prompt_no_heading_execute4": (True, 4, False, 4.0, False),
    "prompt_guidance1_execute4": (True, 4, True, 1.0, False),
    "prompt_hits_execute4": (True, 4, True, 4.0, True),
}
# the prompt-likelihood planner (RESULTS section 29): of its 32 candidates (control.likelihood's
# defaults) one holds `do` for the whole plan, three strikes in a row; arm -> (whether the prompt
# chooses, else a seeded random candidate from the same imagination; the prompt's hit sentence,
# scored with the event it belongs to)
LIKELIHOOD_ARMS = {
    "likelihood_execute4": (True, False),
    "likelihood_hits_execute4": (True, True),
    "likelihood_no_prompt_execute4": (False, False),
}


def eaten(env, info) -> int:
    return int(info["truth"].extras["achievements"][env.unwrapped.achievements.index("eat_cow")])


def find_start(task, seed: int) -> list[int] | None:
    """The scripted hunter's actions from reset until the player first faces a cow (at least 4
    steps, so that the loop sees 5 real frames), or None within LOOK steps."""
    env = make_env(task.env)
    _, info = env.reset(seed=seed)
    actions: list[int] = []
    while len(actions) < LOOK:
        if len(actions) >= 4 and env.unwrapped.faced() == "cow":
            return actions
        actions.append(env.unwrapped.scripted_action())
        _, _, done, _, info = env.step(actions[-1])
        if done:
            return None
    return None


def faced_cell(env) -> tuple[slice, slice]:
    """(rows, columns) of the pixels of the cell the player faces."""
    border, unit, corner = env.unwrapped.view_cells()
    player = env.unwrapped._env._player
    x0, y0 = border + (np.add(player.pos, player.facing) - corner) * unit
    return slice(y0, y0 + unit[1]), slice(x0, x0 + unit[0])


def pixel_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two uint8 images (H, W, 3) (worldsim.metrics.psnr, whose frames are (C, H, W))."""
    a, b = (torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1) for x in (a, b))
    return float(psnr(a, b, data_range=255.0))


def replay(task, seed: int, prefix: list[int]):
    """The start: the env reset to `seed` and stepped through `prefix` -> (env, frames, info)."""
    env = make_env(task.env)
    obs, info = env.reset(seed=seed)
    frames = [obs]
    for a in prefix:
        obs, _, _, _, info = env.step(a)
        frames.append(obs)
    return env, frames, info


def vae_cells(task, starts: dict[int, list[int]], module) -> dict:
    """PSNR of each start's faced cow cell and of its whole frame, after the autoencoder."""
    imaginer, cell, frame = Imaginer(module, ImagineConfig()), [], []
    for seed, prefix in starts.items():
        env, frames, _ = replay(task, seed, prefix)
        back = imaginer.decode(imaginer.encode([frames[-5:]]))[0, -1]  # (H, W, 3)
        rows, cols = faced_cell(env)
        cell.append(pixel_psnr(frames[-1][rows, cols], back[rows, cols]))
        frame.append(pixel_psnr(frames[-1], back))
        env.close()
    below = int(sum(c < f for c, f in zip(cell, frame)))
    return {"cow_cell_psnr": float(np.mean(cell)), "frame_psnr": float(np.mean(frame)),
            "cell_below_frame": below, "of": len(cell)}  # fmt: skip


def policy_of(task, module, idm, arm: str):
    """The loop of `arm`: a PromptPolicy (ARMS) or a LikelihoodPolicy (LIKELIHOOD_ARMS)."""
    if arm in LIKELIHOOD_ARMS:
        prompted, hits = LIKELIHOOD_ARMS[arm]
        return LikelihoodPolicy(
            arm,
            Imaginer(module, ImagineConfig()),
            LikelihoodConfig(),
            lambda env, s: expand(task, env, s, True, hits) if prompted else "",
            4,
        )
    prompted, execute, heading, guidance, hits = ARMS[arm]
    return PromptPolicy(
        "prompt" if prompted else "no_prompt",
        Imaginer(module, ImagineConfig(guidance=guidance)),
        idm,
        lambda env, s: expand(task, env, s, heading, hits) if prompted else "",
        execute,
        "first",
    )


def play(task, starts: dict[int, list[int]], module, idm, arm: str, steps: int):
    """Every start played `steps` steps by the loop of `arm` -> one row per start."""
    games = []
    for seed, prefix in starts.items():
        env, frames, info = replay(task, seed, prefix)
        policy = policy_of(task, module, idm, arm)
        policy.reset(env, seed, {})
        if arm in LIKELIHOOD_ARMS:  # it conditions on the actions since reset: the hunter's
            policy.executed = [env.unwrapped.action_codec.encode(a) for a in prefix]
        row = {"seed": seed, "eaten": 0, "facing": 0, "do_facing": 0, "actions": []}
        games.append({"env": env, "policy": policy, "frames": frames, "info": info, "queue": [],
                      "before": eaten(env, info), "row": row})  # fmt: skip
    do = games[0]["env"].unwrapped.actions.index("do")
    for k in range(steps):
        planning = [g for g in games if not g["queue"]]
        if planning:
            if arm in LIKELIHOOD_ARMS:  # a batch each: the starts played unlike steps since reset
                plans = [g["policy"].act(g["env"], g["frames"], k) for g in planning]
            else:
                plans = PromptPolicy.act_many(
                    [g["policy"] for g in planning],
                    [g["env"] for g in planning],
                    [g["frames"][-5:] for g in planning],  # one length: the context it encodes
                    k,
                )
            for g, plan in zip(planning, plans, strict=True):
                g["queue"] = list(plan.actions)
                if k == 0:
                    g["first_plan"] = [g["frames"][-1], *plan.imagined]  # (1 + n) x (H, W, 3)
        for g in games:
            action = int(g["queue"].pop(0))
            faced = g["env"].unwrapped.faced() == "cow"
            g["row"]["facing"] += faced
            g["row"]["do_facing"] += faced and action == do
            g["row"]["actions"].append(action)
            obs, _, _, _, g["info"] = g["env"].step(action)
            g["frames"].append(obs)
    if strips := os.environ.get("STRIPS"):
        rows = [np.concatenate(g["first_plan"], axis=1) for g in games[:8]]  # (H, (1 + n) W, 3)
        Path(strips).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate(rows, axis=0)).save(Path(strips) / f"{arm}.png")
    for g in games:
        g["row"]["eaten"] = eaten(g["env"], g["info"]) - g["before"]
        g["row"]["first_do"] = g["row"]["actions"][0] == do  # the plan's first action, facing
        g["env"].close()
    return [g["row"] for g in games]


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    n, steps = int(sys.argv[1]), int(sys.argv[2])
    ckpt = sys.argv[3] if len(sys.argv) > 3 else "pretrained:crafter"
    arms = sys.argv[4:] or list(ARMS)[:4]
    if unknown := [a for a in arms if a not in ARMS and a not in LIKELIHOOD_ARMS]:
        raise SystemExit(
            f"unknown arms {unknown}; choose from {', '.join([*ARMS, *LIKELIHOOD_ARMS])}"
        )
    task = named_task("eat_cow")
    module = load_world_model(ckpt, os.environ.get("DEVICE", "cpu"))  # the IDM reads on the CPU
    idm = load_idm(IDM_ASSETS / "crafter.pt")
    starts: dict[int, list[int]] = {}
    seed = FIRST_SEED
    while len(starts) < n:
        if (prefix := find_start(task, seed)) is not None:
            starts[seed] = prefix
        seed += 1
    out = {"ckpt": ckpt, "steps": steps, "starts": {str(s): len(p) for s, p in starts.items()}}
    out["vae"] = vae_cells(task, starts, module)
    print("vae", out["vae"], file=sys.stderr)
    for arm in arms:
        began = time.time()
        rows = play(task, starts, module, idm, arm, steps)
        won = sum(r["eaten"] > 0 for r in rows)
        facing = sum(r["facing"] for r in rows)
        out[arm] = {
            "starts_eating": won,
            "of": len(rows),
            "ci95": wilson(won, len(rows)),
            "first_action_do": sum(r["first_do"] for r in rows),
            "steps_facing": facing,
            "do_share_facing": sum(r["do_facing"] for r in rows) / max(1, facing),
            "seconds": round(time.time() - began),
            "rows": rows,
        }
        print(arm, {k: v for k, v in out[arm].items() if k != "rows"}, file=sys.stderr)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
