"""Three checks of the likelihood planner with a real world model (CPU, minutes).

    python experiments/prompt_control/likelihood_checks.py timing [CKPT] [REPLANS]
    python experiments/prompt_control/likelihood_checks.py follow [CKPT] [SEEDS] [CONTEXT] [STEPS]
    python experiments/prompt_control/likelihood_checks.py oracle [CKPT] [TASK] [SEEDS] [K=V ...]

timing: seconds per replanning step of `likelihood` on collect_wood (seed 200000; the first
replan sees one real frame, the later ones `imagine.context` = 5), with the chosen candidate.
follow: do the imagined futures follow the candidate actions as the planner packs them? After a
fixed walk of 24 steps, the planner imagines 8 steps of each of noop, move_left, move_right,
move_up, move_down held; the env plays the same five. For each imagined future, the five real
futures are ranked by how well their change from the last real frame correlates with its own
(each action's change less the mean over the five: what is particular to the action). Mean rank
of its own action's real future: 0 = always the best match, 2 = chance.
oracle: does the score prefer a future in which the task succeeds? The scripted planner plays
the task until 4 steps before its success; the planner's candidates at that point get one more,
the scripted planner's next 8 actions (which succeed within them). Prints the scripted
candidate's score rank among all (0 = the planner would pick it). K=V words set the scorer
(`control.likelihood`: levels=0.3,0.5 draws=4 contrast=event; with any of them, the rank under
section 4's scorer — prompt against empty caption, levels 0.5/0.7/0.9, 1 draw — on the same
imagined futures is printed beside), first=SEED the first seed (200000), and focus=x0,y0,x1,y1
(fractions of the frame) the rank under the same score over that box's latent cells alone
(Crafter's player stands at the centre of the 9x7-cell view, the inventory's 2 rows below it);
the word `relative` prints the rank under the log ratio of the two captions' errors beside.
With STRIPS=DIR, each situation's DIR/TASK_SEED.png: the real frames from the cut to the success,
then the scripted candidate's imagined frames (after the last real one), then the best-scored
candidate's. DEVICE=cuda runs it on the GPU (default cpu).
TASK: a Crafter task or a Push one (push_left, ...). For Push the run is the env's recording player
(`scripted_action`, heading for objects in turn) until the task's success, not the grid's
`push_oracle`: a real push of the named object, not the cleanest approach; its walk prints as its
mean command.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from envs.base import DiscreteCodec
from envs.make import make_env
from worldsim.control.candidates import candidates
from worldsim.control.grid import ControlConfig, Harness
from worldsim.control.imagine import ImagineConfig
from worldsim.control.likelihood import LikelihoodConfig, prompt_errors
from worldsim.control.tasks import named_task
from worldsim.training.world_model import load_world_model
from worldsim.video import save_frame_strip

HELD = [0, 1, 2, 3, 4]  # noop, move_left, move_right, move_up, move_down: each held 8 steps
WALK = [2, 2, 4, 4, 1, 1, 3, 3] * 3  # the real steps before the plan


def timing(ckpt: str, replans: int) -> None:
    task = named_task("collect_wood")
    policy = Harness(load_world_model(ckpt, "cpu"), None, ControlConfig()).policy(
        "likelihood", task
    )
    env = make_env(task.env)
    obs, info = env.reset(seed=200_000)
    policy.reset(env, 200_000, task.start(env, info))
    frames = [obs]
    for _ in range(replans):
        start = time.perf_counter()
        plan = policy.act(env, frames, len(frames) - 1)
        print(f"replan at step {len(frames) - 1}: {time.perf_counter() - start:.1f} s, {plan.info}")
        for action in plan.actions:
            frames.append(env.step(action)[0])


def real_futures(task, seed: int) -> np.ndarray:
    """(5, 8, H, W, 3) the env's frames under each HELD action for 8 steps after WALK."""
    futures = []
    for action in HELD:
        env = make_env(task.env)
        env.reset(seed=seed)
        for a in WALK:
            env.step(a)
        futures.append(np.stack([env.step(action)[0] for _ in range(8)]))
    return np.stack(futures).astype(np.float32)


def own_ranks(imagined: np.ndarray, real: np.ndarray, last: np.ndarray) -> list[int]:
    """Per imagined future (5, 8, H, W, 3), how many real futures match its change better than
    the real future of its own action."""
    change = [(v - last).reshape(len(v), -1) for v in (imagined, real)]  # (5, D) each
    change = [c - c.mean(0) for c in change]
    unit = [c / np.linalg.norm(c, axis=1, keepdims=True) for c in change]
    corr = unit[0] @ unit[1].T  # (imagined, real)
    return [int((corr[i] > corr[i, i]).sum()) for i in range(len(corr))]


def follow(ckpt: str, seeds: int = 4, context: int = 5, steps: int = 4) -> None:
    task = named_task("collect_wood")
    cfg = ControlConfig(imagine=ImagineConfig(context=context))
    cfg = replace(cfg, likelihood=replace(cfg.likelihood, steps=steps))
    policy = Harness(load_world_model(ckpt, "cpu"), None, cfg).policy("likelihood_no_prompt", task)
    plans = np.eye(17, dtype=np.float32)[np.repeat(np.array(HELD)[:, None], 8, 1)]  # (5, 8, 17)
    ranks = []
    for seed in range(200_000, 200_000 + seeds):
        env = make_env(task.env)
        codec = env.unwrapped.action_codec
        frames = [env.reset(seed=seed)[0]]
        policy.reset(env, seed, {})
        for a in WALK:
            frames.append(env.step(a)[0])
            policy.executed.append(codec.encode(a))
        with torch.no_grad():
            seq = policy.imagine(np.stack(frames), plans, codec, seed)
        imagined = policy.imaginer.decode(seq)[:, -8:].astype(np.float32)  # (5, 8, H, W, 3)
        ranks += own_ranks(imagined, real_futures(task, seed), frames[-1].astype(np.float32))
    print(f"context={context} steps={steps}: mean rank of the own action's real future "
          f"{np.mean(ranks):.2f} over {len(ranks)} (0 best, 2 chance)")  # fmt: skip


def scripted_run(task, seed: int, limit: int = 300) -> tuple[list, list[int]]:
    """The frames and actions of the scripted planner on `task` until success (or `limit`)."""
    env = make_env(task.env)
    obs, info = env.reset(seed=seed)
    start, frames, actions = task.start(env, info), [obs], []
    while len(actions) < limit:
        actions.append(env.unwrapped.scripted_action())
        obs, _, _, _, info = env.step(actions[-1])
        frames.append(obs)
        if task.reached(task.progress(start, info)):
            break
    return frames, actions


def oracle_situation(policy, task, seed: int):
    """The scripted planner's run on `task` cut 4 steps before its success, `policy` reset to
    that point, and its candidate plans with the scripted planner's next 8 actions (`walk`)
    appended last: (frames, actions, cut, codec, plans (N + 1, 8, A), families, walk)."""
    frames, actions = scripted_run(task, seed)
    cut = max(0, len(actions) - 4)  # the success is the 4th of the 8 planned steps
    env = make_env(task.env)
    env.reset(seed=seed)
    codec = env.unwrapped.action_codec
    policy.reset(env, seed, {})
    policy.executed = [codec.encode(a) for a in actions[:cut]]
    plans, families = candidates(codec, 8, policy.cfg.candidates, seed)
    walk = (actions[cut:] + [codec.noop()] * 8)[:8]  # the scripted planner's next 8
    plans = np.concatenate([plans, np.stack([codec.encode(a) for a in walk])[None]])
    return frames, actions, cut, codec, plans, families, walk


def scorer_config(overrides: list[str]) -> ControlConfig:
    """ControlConfig with `control.likelihood` fields set from KEY=VALUE words (levels=0.3,0.5
    draws=4 contrast=event)."""
    cfg, kw = ControlConfig(), {}
    for word in overrides:
        key, value = word.split("=", 1)
        kw[key] = {"levels": lambda v: [float(x) for x in v.split(",")], "draws": int,
                   "contrast": str, "candidates": int, "steps": int}[key](value)  # fmt: skip
    return replace(cfg, likelihood=replace(cfg.likelihood, **kw))


def focus_cells(box: str, h: int, w: int) -> torch.Tensor:
    """'x0,y0,x1,y1' (fractions of the frame) -> (h, w) weights: 1 on the latent cells whose
    centre lies in the box, else 0."""
    x0, y0, x1, y1 = (float(v) for v in box.split(","))
    ys, xs = (torch.arange(n, dtype=torch.float32).add(0.5).div(n) for n in (h, w))
    inside = ((ys >= y0) & (ys <= y1))[:, None] & ((xs >= x0) & (xs <= x1))[None]
    if not inside.any():
        raise ValueError(f"focus={box} holds no latent cell centre of a {h}x{w} grid")
    return inside.float()


def oracle(ckpt: str, task_name: str = "collect_wood", seeds: int = 3, *overrides: str) -> None:
    first = [int(w.split("=")[1]) for w in overrides if w.startswith("first=")] or [200_000]
    focus = [w.split("=")[1] for w in overrides if w.startswith("focus=")]
    relative = "relative" in overrides
    overrides = tuple(
        w for w in overrides if not w.startswith(("first=", "focus=")) and w != "relative"
    )
    task = named_task(task_name)
    device = os.environ.get("DEVICE", "cpu")
    harness = Harness(load_world_model(ckpt, device), None, scorer_config(list(overrides)))
    policy = harness.policy("likelihood", task)
    m, horizon = policy.imaginer.module, policy.imaginer.cfg.horizon
    shipped = LikelihoodConfig(levels=[0.5, 0.7, 0.9], draws=1, contrast="empty")  # section 4's
    ranks = []
    for seed in range(first[0], first[0] + seeds):
        frames, _, cut, codec, plans, _, walk = oracle_situation(policy, task, seed)
        with torch.no_grad():
            seq = policy.imagine(np.stack(frames[: cut + 1]), plans, codec, seed)
            texts = m.encode_text([policy.prompt, policy.baseline()])
            errs = prompt_errors(m.model, seq[:1, :-horizon], seq[:, -horizon:], texts,
                                 policy.cfg.levels, seed, policy.cfg.draws)  # fmt: skip
            errs = errs.cpu().numpy()
            scores = errs[0] - errs[1]  # the planner's score
            ratio = np.log(errs[0]) - np.log(errs[1])  # `relative`: their log ratio
            if focus:  # the same score over the focus box's latent cells alone
                cells = focus_cells(focus[0], *seq.shape[-2:])
                near = prompt_errors(m.model, seq[:1, :-horizon], seq[:, -horizon:], texts,
                                     policy.cfg.levels, seed, policy.cfg.draws,
                                     cells=cells).cpu().numpy()  # fmt: skip
                near = near[0] - near[1]
            if overrides:  # section 4's scorer on the same imagined futures, for comparison
                texts = m.encode_text([policy.prompt, ""])
                before = prompt_errors(m.model, seq[:1, :-horizon], seq[:, -horizon:], texts,
                                       shipped.levels, seed, shipped.draws)  # fmt: skip
                before = before.cpu().numpy()
                before = before[0] - before[1]
        rank = int((scores < scores[-1]).sum())
        ranks.append(rank)
        if isinstance(codec, DiscreteCodec):  # the action names
            names = [codec.names[a] for a in walk]
        else:  # a continuous codec's (Push) mean command
            names = [round(float(v), 2) for v in np.mean(walk, 0)]
        spread = f"best {scores.min():+.4f}, median {np.median(scores):+.4f}"
        old = f"; section 4's scorer: rank {int((before < before[-1]).sum())}" if overrides else ""
        if focus:
            old += f"; focus {focus[0]}: rank {int((near < near[-1]).sum())}"
        if relative:
            old += f"; relative: rank {int((ratio < ratio[-1]).sum())}"
        print(f"{task_name} seed {seed}: scripted {names} scores {scores[-1]:+.4f}, "
              f"rank {rank} of {len(scores)} ({spread}){old}", flush=True)  # fmt: skip
        if strips := os.environ.get("STRIPS"):
            used = policy.imaginer.context_frames(cut + 1)
            chosen = policy.imaginer.decode(seq[[-1, int(scores.argmin())]])[:, used - 1 :]
            Path(strips).mkdir(parents=True, exist_ok=True)
            save_frame_strip([np.stack(frames[cut:]), *chosen.astype(np.uint8)],
                             Path(strips) / f"{task_name}_{seed}.png", 1)  # fmt: skip
    print(
        f"{task_name}: the scripted candidate's rank, mean {np.mean(ranks):.1f} over {seeds} "
        f"situations, first in {ranks.count(0)} (chance: {policy.cfg.candidates / 2:.0f})"
    )


if __name__ == "__main__":
    torch.set_num_threads(2)
    what, ckpt = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "pretrained:crafter"
    if what == "timing":
        timing(ckpt, int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    elif what == "oracle":
        oracle(ckpt, *sys.argv[3:4], *(int(a) for a in sys.argv[4:5]), *sys.argv[5:])
    else:
        follow(ckpt, *(int(a) for a in sys.argv[3:]))
