"""Why the likelihood planner's prompt score is at chance (RESULTS.md section 5), CPU.

    python experiments/prompt_control/scorer_diagnosis.py text CKPT STORE [PER_TASK] [LAYOUT]
    python experiments/prompt_control/scorer_diagnosis.py oracle CKPT TASK [SEEDS] [FIRST]
    python experiments/prompt_control/scorer_diagnosis.py ranks [CACHE]

text: does the model's text pathway respond to achievement words at all? On TRUE held-out
windows in which a task's achievement happens (STORE: recorded episodes with truth, e.g.
data/game_eval/crafter), the error of the model's clean estimate of the noised frames (actions
null, as the planner scores) under the true caption of the span, the same caption without the
achievement sentence, with the achievement replaced by another task's, and the empty caption;
several noise levels and draws, the same noise for every caption. Errors are split by region
of the latent grid: the world view (latent rows 0..11) and the inventory strip (rows 12..15,
where the only visible mark of collect wood / drink / eat cow is). LAYOUT: `plan` (2 clean
latent frames, 2 noised, the event in the first noised one: the planner's layout, caption of
exactly that span from truth) or `train` (8 latent frames, 4 clean then 4 noised, the event in
the 5th: the training clip and its training caption). Prints per task the mean difference
true - without, true - wrong, true - empty, relative to the error, with its t statistic over
events; and the control: windows without any achievement, caption + a false achievement.
The per-window numbers go to /tmp/scorer_text_LAYOUT.json.

oracle: the oracle situations of likelihood_checks.py (the scripted planner's next 8 actions,
succeeding at the 4th, beside the planner's 32 candidates), with each candidate's imagined
future (as the planner imagines it) and its real future (the env plays it; VAE-encoded), the
real success of each, and error tables (captions: the prompt, the prompt without its
achievement sentences, empty; levels 0.3/0.5/0.7/0.9; 2 noise draws, 1 for the real futures;
per future latent frame and region) -> CACHE (/tmp/scorer_cache) TASK_SEED.pt. 10-12 min each
on a loaded 2-core CPU.
ranks: the scripted candidate's rank (0 = picked, chance 16) and the AUC of the succeeding
candidates under several scorers computed from the cached tables, on imagined and on real
futures; the inventory-strip change of the scripted future, imagined and real; and a strip
(real above, imagined below) per situation in CACHE.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import torch

from envs.base import Captions
from envs.crafter.captions import achievement_sentence, window_sentences
from envs.make import make_env
from evals.latent_rollout import encode_latent_episode
from worldsim.data.latent_datamodule import pixel_span
from worldsim.data.store import EpisodeStore
from worldsim.diffusion.flow import noisy
from worldsim.training.world_model import load_world_model

TASKS = ("collect_wood", "collect_drink", "eat_cow", "place_table")
WRONG = {  # the achievement put in its place for the "wrong" caption
    "collect_wood": "collect_drink",
    "collect_drink": "collect_wood",
    "eat_cow": "collect_drink",
    "place_table": "collect_drink",
}
INVENTORY_ROW = 12  # latent rows >= this show the inventory strip (pixel rows >= 48 of 64)
LEVELS = (0.3, 0.5, 0.7, 0.9)
DRAWS = 2


def record_of(episode) -> dict:
    """The fields `window_sentences` reads."""
    return {"truth": episode.truth, "events": episode.events, "objects": episode.objects}


def region_errors(model, x0, noise, levels, text) -> torch.Tensor:
    """(B, 2): latent MSE of the clean estimate over the noised frames, world and inventory."""
    x = noisy(x0, noise, levels)
    v = model(x, levels, None, text).to(x0.dtype)
    t = levels.reshape(*levels.shape, 1, 1, 1).to(x0.dtype)
    err = (x - t * v - x0).pow(2).mean(2)  # (B, T, h, w)
    mask = (levels > 0).to(err.dtype)[:, :, None]  # (B, T, 1)
    world = (err[..., :INVENTORY_ROW, :].flatten(2).mean(-1, keepdim=True) * mask).sum(1)
    inv = (err[..., INVENTORY_ROW:, :].flatten(2).mean(-1, keepdim=True) * mask).sum(1)
    return torch.cat([world, inv], 1) / mask.sum(1)


def windows(store, m, per_task: int, layout: str):
    """(task, latents (L, c, h, w), clean count, captions {name: str}) for event windows, then
    ("none", ...) control windows without achievements."""
    length, clean = (4, 2) if layout == "plan" else (8, 4)
    tf = m.latent_info.time_factor
    found = {t: [] for t in (*TASKS, "none")}
    for name in store.names():
        ep = store.load(name)
        lat = encode_latent_episode(m, ep, text=False)
        rec, n = record_of(ep), lat.latents.shape[0]
        achieved = {e["frame"] for e in ep.events if e["kind"] == "achievement"}
        for e in ep.events:
            task = e["detail"].get("name") if e["kind"] == "achievement" else None
            if task not in TASKS or len(found[task]) >= per_task:
                continue
            k = math.ceil(e["frame"] / tf)  # the latent frame that first shows the event
            start = k - clean
            if start < 1 or start + length > n:
                continue
            a, b = pixel_span(start, length, tf)
            if layout == "plan":
                caption = " ".join(window_sentences(rec, a, b))
            else:
                caption = Captions(**ep.captions).for_window(a, b)  # the training caption
            found[task].append((task, lat.latents[start : start + length], clean, caption))
        for start in range(1, n - length, 7):  # control windows: no achievement in the span
            a, b = pixel_span(start, length, tf)
            if len(found["none"]) < per_task and not any(a <= f < b for f in achieved):
                caption = " ".join(window_sentences(rec, a, b))
                found["none"].append(("none", lat.latents[start : start + length], clean, caption))
        if all(len(v) >= per_task for v in found.values()):
            break
    return [w for v in found.values() for w in v]


def variants(task: str, caption: str) -> dict[str, str]:
    """The captions compared for one window."""
    if task == "none":
        false = achievement_sentence("collect_wood")
        light = caption.rfind("It is")
        return {"true": caption, "plus_false": caption[:light] + false + " " + caption[light:]}
    said = achievement_sentence(task)
    if said not in caption:
        raise ValueError(f"{caption!r} lacks {said!r}")
    drop = " ".join(s for s in caption.replace(said, "").split(" ") if s)
    return {
        "true": caption,
        "without": drop,
        "wrong": caption.replace(said, achievement_sentence(WRONG[task])),
        "empty": "",
    }


@torch.no_grad()
def text(ckpt: str, store: str, per_task: int = 6, layout: str = "plan") -> None:
    torch.manual_seed(0)
    m = load_world_model(ckpt, "cpu")
    ws = windows(EpisodeStore(store), m, int(per_task), layout)
    out: dict[str, list] = {}
    for i, (task, lat, clean, caption) in enumerate(ws):
        caps = variants(task, caption)
        names = list(caps)
        x0 = lat[None].expand(len(names), -1, -1, -1, -1)
        text_batch = m.encode_text([caps[n] for n in names])
        errs = []  # (levels * draws, captions, 2)
        for level in LEVELS:
            for d in range(DRAWS):
                g = torch.Generator().manual_seed(1000 * i + d)
                noise = torch.zeros_like(x0)
                noise[:, clean:] = torch.randn(lat[clean:].shape, generator=g)
                levels = torch.zeros(x0.shape[:2])
                levels[:, clean:] = level
                errs.append(region_errors(m.model, x0, noise, levels, text_batch))
        e = torch.stack(errs).reshape(len(LEVELS), DRAWS, len(names), 2)  # (K, D, C, 2)
        rel = (e[:, :, 1:] - e[:, :, :1]) / e[:, :, :1]  # other - true, relative (K, D, C-1, 2)
        out.setdefault(task, []).append(
            {
                "caption": caption,
                "names": names[1:],
                "rel": rel.numpy().tolist(),
                "err_true": e[:, :, 0].mean(1).numpy().tolist(),  # (K, 2)
            }
        )
        print(f"{i + 1}/{len(ws)} {task}: {caption}", flush=True)
    summary(out)
    with open(f"/tmp/scorer_text_{layout}.json", "w") as fh:
        json.dump(out, fh)


def summary(out: dict) -> None:
    """Mean (over events and draws) of (other - true) / true per level and region; t over events."""
    for task, rows in out.items():
        rel = np.array([r["rel"] for r in rows])  # (E, K, D, C, 2)
        per_event = rel.mean(2)  # (E, K, C, 2)
        draw_sd = rel.std(2).mean(0)  # (K, C, 2): spread across noise draws of one event
        for c, name in enumerate(rows[0]["names"]):
            for r, region in enumerate(("world", "inventory")):
                cells = []
                for k, level in enumerate(LEVELS):
                    x = per_event[:, k, c, r]
                    t = x.mean() / (x.std(ddof=1) / math.sqrt(len(x)) + 1e-12)
                    cells.append(f"{level}: {100 * x.mean():+.2f}% (t {t:+.1f}, sd/draw "
                                 f"{100 * draw_sd[k, c, r]:.2f}%)")  # fmt: skip
                print(f"{task} n={len(rows)} {name} - true, {region}: " + "; ".join(cells))


# --- the oracle situations: imagined and real futures of every candidate, errors cached ----------

ORACLE_LEVELS = (0.3, 0.5, 0.7, 0.9)
ORACLE_DRAWS = 2


def real_future(task, seed: int, prefix: list, plan: list) -> tuple[np.ndarray, int]:
    """The env's 8 frames (8, H, W, 3) after `prefix` then `plan`, and the step of `plan` at which
    the task succeeded (0 = not within it)."""
    env = make_env(task.env)
    obs, info = env.reset(seed=seed)
    start = task.start(env, info)
    for a in prefix:
        env.step(a)
    frames, hit = [], 0
    for i, a in enumerate(plan):
        obs, _, term, trunc, info = env.step(a)
        frames.append(obs)
        if not hit and task.reached(task.progress(start, info)):
            hit = i + 1
    return np.stack(frames), hit


def error_table(m, context, futures, captions, seed, draws=ORACLE_DRAWS) -> torch.Tensor:
    """(captions, levels, draws, N, H, 2) latent MSE of the clean estimate per future latent frame
    and region (world, inventory); actions null; noise shared by every candidate and caption."""
    n, h, tc = len(futures), futures.shape[1], context.shape[1]
    x0 = torch.cat([context.expand(n, -1, -1, -1, -1), futures], 1)  # (N, T, c, h, w)
    text = m.encode_text(captions)
    out = torch.zeros(len(captions), len(ORACLE_LEVELS), draws, n, h, 2)
    for k, level in enumerate(ORACLE_LEVELS):
        for d in range(draws):
            g = torch.Generator().manual_seed(seed + 7919 * d)
            shared = torch.randn(futures.shape[1:], generator=g)
            noise = torch.zeros_like(x0)
            noise[:, tc:] = shared
            levels = torch.zeros(x0.shape[:2])
            levels[:, tc:] = level
            x = noisy(x0, noise, levels)
            for c in range(len(captions)):
                tb = type(text)(*(v[c : c + 1].expand(n, *v.shape[1:]) for v in text))
                v = m.model(x, levels, None, tb)
                err = (x - levels[..., None, None, None] * v - x0).pow(2).mean(2)[:, tc:]
                out[c, k, d, :, :, 0] = err[..., :INVENTORY_ROW, :].flatten(2).mean(-1)
                out[c, k, d, :, :, 1] = err[..., INVENTORY_ROW:, :].flatten(2).mean(-1)
    return out


def real_futures(policy, task, seed, frames, actions, cut, plans, codec):
    """Every candidate plan played in the real env after the situation's first cut actions: its
    frames, its success step, and the context + real future encoded as the planner encodes."""
    used = policy.imaginer.context_frames(cut + 1)
    reals, hits = [], []
    for p in plans:
        f, hit = real_future(task, seed, actions[:cut], [codec.decode(v) for v in p])
        reals.append(f)
        hits.append(hit)
    clips = np.concatenate(
        [np.broadcast_to(np.stack(frames[cut + 1 - used : cut + 1]), (len(plans), used,
         *frames[0].shape)), np.stack(reals)], 1)  # fmt: skip
    real_seq = torch.cat([policy.imaginer.encode([c]) for c in clips])  # (N, T', c, h, w)
    return reals, hits, real_seq


@torch.no_grad()
def oracle(
    ckpt: str,
    task_name: str,
    seeds: int = 2,
    first: int = 200_000,
    out_dir: str = "/tmp/scorer_cache",
) -> None:
    """Per situation: the planner's 32 candidates + the scripted 8 actions, their imagined
    futures (as the planner imagines them) and their real futures (the env, encoded with the
    VAE), the real success step of each, and error tables of both under the captions."""
    import os
    import time

    from worldsim.control.grid import ControlConfig, Harness
    from worldsim.control.tasks import named_task

    sys.path.insert(0, os.path.dirname(__file__))
    from likelihood_checks import oracle_situation

    os.makedirs(out_dir, exist_ok=True)
    task = named_task(task_name)
    policy = Harness(load_world_model(ckpt, "cpu"), None, ControlConfig()).policy(
        "likelihood", task
    )
    m, horizon = policy.imaginer.module, policy.imaginer.cfg.horizon
    for seed in range(first, first + int(seeds)):
        t0 = time.perf_counter()
        frames, actions, cut, codec, plans, families, walk = oracle_situation(policy, task, seed)
        seq = policy.imagine(np.stack(frames[: cut + 1]), plans, codec, seed)
        used = policy.imaginer.context_frames(cut + 1)
        reals, hits, real_seq = real_futures(policy, task, seed, frames, actions, cut, plans, codec)
        prompt = policy.prompt
        said = [s for s in prompt.split(". ") if "achieves" in s]
        without = " ".join(
            s if s.endswith(".") else s + "." for s in prompt.split(". ") if "achieves" not in s
        )
        captions = [prompt, without, ""]
        context = seq[:1, :-horizon]
        tabs = {
            "imagined": error_table(m, context, seq[:, -horizon:], captions, seed),
            "real": error_table(
                m, real_seq[:1, :-horizon], real_seq[:, -horizon:], captions, seed, draws=1
            ),
        }
        # the scripted candidate's imagined and real future, decoded, for the strip and the check
        imagined_px = policy.imaginer.decode(seq[-1:])[0]  # (Tc + 8, H, W, 3)
        torch.save(
            {
                "task": task_name, "seed": seed, "captions": captions, "said": said,
                "families": families + ["scripted"], "hits": hits,
                "walk": [codec.names[a] for a in walk], "tabs": tabs,
                "context_px": np.stack(frames[cut + 1 - used : cut + 1]),
                "imagined_px": imagined_px, "real_px": reals[-1],
                "seq": seq, "real_seq": real_seq,  # latents (N, T', c, h, w)
            },
            f"{out_dir}/{task_name}_{seed}.pt",
        )  # fmt: skip
        print(f"{task_name} {seed}: hits {hits} ({time.perf_counter() - t0:.0f} s)", flush=True)


# --- scorers on the cached error tables --------------------------------------------------------

AREA = np.array([INVENTORY_ROW, 16 - INVENTORY_ROW], np.float64) / 16  # world, inventory share


def scorer(tab: np.ndarray, kind: str, levels=ORACLE_LEVELS, draws=ORACLE_DRAWS, region="all",
           frames=(0, 1), relative=False) -> np.ndarray:  # fmt: skip
    """Score (N,) of each candidate from an error table (captions P, P - achievement, empty;
    levels; draws; N; future frames; regions), lower = better. kind: `prompt` (P - empty, the
    shipped score) or `achievement` (P - (P without the achievement sentence))."""
    ks = [ORACLE_LEVELS.index(x) for x in levels]
    t = tab[:, ks][:, :, :draws][..., list(frames), :]  # (C, K, D, N, F, 2)
    if region == "all":
        t = (t * AREA).sum(-1)
    else:
        t = t[..., {"world": 0, "inventory": 1}[region]]
    a, b = t[0], t[2 if kind == "prompt" else 1]  # (K, D, N, F)
    d = (a - b) / b if relative else a - b
    return d.mean(axis=(0, 1, 3))


def rank_stats(score: np.ndarray, hits: np.ndarray) -> tuple[int, float]:
    """Rank of the scripted candidate (last; 0 = it would be picked), and the AUC of the
    candidates that really succeed against those that do not (1 = every success scores better;
    nan when all or none succeed)."""
    rank = int((score < score[-1]).sum())
    pos, neg = score[hits > 0], score[hits == 0]
    if not len(pos) or not len(neg):
        return rank, float("nan")
    auc = (pos[:, None] < neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()
    return rank, float(auc)


SCORERS = {
    "shipped: prompt - empty, 0.5/0.7/0.9, 1 draw": dict(
        kind="prompt", levels=(0.5, 0.7, 0.9), draws=1
    ),  # fmt: skip
    "prompt - empty, 4 levels, 2 draws": dict(kind="prompt"),
    "achievement, all, 4 levels, 2 draws": dict(kind="achievement"),
    "achievement, all, 0.3/0.5": dict(kind="achievement", levels=(0.3, 0.5)),
    "achievement, inventory, 4 levels": dict(kind="achievement", region="inventory"),
    "achievement, inventory, 0.3/0.5": dict(
        kind="achievement", region="inventory", levels=(0.3, 0.5)
    ),  # fmt: skip
    "achievement, world, 4 levels": dict(kind="achievement", region="world"),
    "achievement, all, relative": dict(kind="achievement", relative=True),
    "achievement, inventory, relative": dict(
        kind="achievement", region="inventory", relative=True
    ),  # fmt: skip
    "achievement, all, 2nd future frame": dict(kind="achievement", frames=(1,)),
}


def shows_event(r: dict) -> tuple[float, float]:
    """Mean absolute pixel change of the inventory strip (pixel rows >= 49) from the last real
    frame to the end of the scripted candidate's future: imagined (from the decoded context
    frame) and real."""
    used = len(r["context_px"])
    imagined = r["imagined_px"].astype(np.float32)[:, 49:]
    real = np.concatenate([r["context_px"][-1:], r["real_px"]]).astype(np.float32)[:, 49:]
    return float(np.abs(imagined[-1] - imagined[used - 1]).mean()), float(
        np.abs(real[-1] - real[0]).mean()
    )


def strip(r: dict, path: str) -> None:
    """Real (top) and imagined (bottom) future of the scripted candidate from the last real one."""
    from PIL import Image

    used = len(r["context_px"])
    top = np.concatenate([r["context_px"][-1], *r["real_px"]], 1)
    bottom = np.concatenate(list(r["imagined_px"][used - 1 :]), 1)
    img = np.concatenate([top, bottom], 0)
    Image.fromarray(img).resize((img.shape[1] * 3, img.shape[0] * 3), Image.NEAREST).save(path)


def ranks(cache_dir: str = "/tmp/scorer_cache") -> None:
    import glob

    files = sorted(glob.glob(f"{cache_dir}/*.pt"))
    rows = [torch.load(f, weights_only=False) for f in files]
    for r in rows:
        hits = np.array(r["hits"])
        strip(r, f"{cache_dir}/strip_{r['task']}_{r['seed']}.png")
        print(f"{r['task']} {r['seed']}: inventory strip change, imagined / real: "
              f"{shows_event(r)[0]:.1f} / {shows_event(r)[1]:.1f}")  # fmt: skip
        others = [r["families"][i] + str(i) for i in np.nonzero(hits[:-1])[0]]
        print(f"{r['task']} {r['seed']}: scripted {r['walk']} hit {hits[-1]}; other candidates "
              f"succeeding: {others}")  # fmt: skip
    for which in ("imagined", "real"):
        print(
            f"\n== {which} futures ({len(rows)} situations; rank of 33, chance 16; AUC chance 0.5)"
        )
        for name, kw in SCORERS.items():
            rk, auc = zip(*(rank_stats(scorer(r["tabs"][which].numpy(), **kw),
                                       np.array(r["hits"])) for r in rows))  # fmt: skip
            print(f"{name:48s} rank {np.mean(rk):5.1f} {list(rk)}  AUC {np.nanmean(auc):.2f}")
    # noise: correlation of the candidates' scores between the two draws
    for which in ("imagined",):
        cs = []
        for r in rows:
            tab = r["tabs"][which].numpy()
            s = [scorer(tab[:, :, d : d + 1], "achievement", draws=1) for d in range(2)]
            cs.append(np.corrcoef(*s)[0, 1])
        print(f"{which}: corr of achievement scores between noise draws {np.round(cs, 2)}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    if sys.argv[1] == "text":
        text(*sys.argv[2:4], *(int(a) for a in sys.argv[4:5]), *sys.argv[5:6])
    elif sys.argv[1] == "oracle":
        oracle(*sys.argv[2:4], *(int(a) for a in sys.argv[4:6]))
    elif sys.argv[1] == "ranks":
        ranks(*sys.argv[2:3])
