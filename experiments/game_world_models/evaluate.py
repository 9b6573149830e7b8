"""Issue 15's acceptance measurements of pretrained:crafter (RESULTS.md has the commands).

Usage: python experiments/game_world_models/evaluate.py DATA OUT [DEVICE [long|only [CKPT [GAMES
       [SAMPLING [NOISE_SEED [TRUTHS [CAPTIONS]]]]]]]]
DATA holds the held-out stores crafter/, doom_my_way_home/, and for the long rollouts doom_long/
and crafter_long/ (seed=100000 steps=1001: doom_my_way_home policy=mixed episodes=12, crafter_mix
policy=scripted episodes=384; run.sh's evaluate stage records them all); CKPT is
pretrained:crafter unless given. On a GPU the samples are larger (COUNTS). `long` adds the
1,000-frame rollouts with their collapse verdicts (evals/long_rollout.py: each of TRUTHS true
1,001-frame episodes in turn is the truth, the game's other sequences its >= 3 references; off
the frozen stores, an episode whose VAE reconstruction collapses is passed over);
`only` runs just those. GAMES
(crafter,doom by default) picks whose long rollouts run: each shipped model knows one game (`only
... doom` for pretrained:doom); the other game's frames still serve as a corruption.
SAMPLING overrides the checkpoint's sampling (worldsim/diffusion/modes.py): a number is its
`context_level`, else dotted overrides, e.g. `sampler.steps=20,context_level=0.3` ('' keeps the
checkpoint's). NOISE_SEED (0 unless given) seeds the long rollouts' sampling noise, and a list
(`0,1,2`) rolls each truth out once per seed, all seeds in one batch, each drawing what it draws
alone: a verdict that changes with it is a draw, not a property of the model, so the bar counts
the truth-draws held ("k of n"). TRUTHS (2 unless given)
is how many true episodes a validation long store judges: 2 truths x 3 noise seeds could not rank
close candidates (RESULTS 28, 30); a range such as 3-4 judges the third and fourth only (the rest
of a judgement that a time limit cut short); the frozen stores' truths stay the fixed 2. CAPTIONS
is the text of Crafter's long rollouts (RESULTS 61): `none` (the default, every long rollout
before section 61: the empty prompt), `clock` (each step's window told the light of the game
clock, "It is night."), `foreseen` (the clock and the heading its actions command): never the true
captions, which describe the frames the rollout is asked to make.
"""

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple, NoReturn

import numpy as np
import torch
from einops import repeat
from omegaconf import OmegaConf

from envs.base import Captions
from envs.crafter.captions import foreseen_captions
from evals.latent_rollout import (
    changed_window_summary,
    encode_latent_episode,
    horizon_psnr,
    idm_reads,
    reads_scene_only,
    rollout,
    rollout_window,
    teacher_forced,
)
from evals.long_rollout import calibrate, drift, judge, plot_drift
from evals.model import from_model_frames
from evals.prompt_motion import prompt_pairs
from worldsim.data.latent_datamodule import pixel_span
from worldsim.data.manifest import manifest_sha256
from worldsim.data.store import EpisodeStore
from worldsim.models.idm import load_idm
from worldsim.training.world_model import load_world_model
from worldsim.training.world_model_config import with_sampling
from worldsim.video import save_frame_strip

CTX, HORIZON, LONG = 7, 8, 250  # latent frames: context, autoregressive horizon, long rollout
LONG_FRAMES = 1001  # video frames of the long rollout (1 + 4 x LONG)
CAPTIONS = ("none", "clock", "foreseen")  # the long rollouts' text (rollout_prompts)
TRUTHS = 2  # true episodes judged per game (the frozen sets' fixed number): one chosen episode can
# pass by luck (RESULTS 12)
# teacher-forced windows, prompt starts per axis (pairs = 2 x starts), horizon rollouts; the CPU
# counts fit ~20 min on an idle 2-core CPU with the long rollouts (RESULTS.md)
# the control suite's shipped Crafter IDM (from the repository root: scripts run from anywhere)
CRAFTER_IDM = str(Path(__file__).resolve().parents[2] / "worldsim/assets/idm/crafter.pt")
STORES = ("crafter", "crafter_long", "doom_my_way_home", "doom_long")  # held-out, under DATA
COUNTS = {"cpu": (10, 32, 2), "cuda": (256, 32, 16)}
# The frozen held-out sets of the bars (RESULTS 14, 15, 17): store name -> (manifest sha256, the
# command that records it). A store of that name with another manifest is not the set the bars
# were measured on, so its results are flagged, not silently compared.
FROZEN = {
    "crafter": (
        "0abe3216d144a9a48ac89278c290a617b1e7e83ba3cd0902f87fcd0691e8923b",
        "worldsim record env=crafter_mix policy=mixed episodes=32 steps=257 seed=100000",
    ),
    "doom_my_way_home": (
        "f8c7b4dc116a9341f52872d6d633fe824a459d0e49c48be949f99b54e071383d",
        "worldsim record env=doom_my_way_home policy=mixed episodes=8 steps=257 seed=100000",
    ),
    "crafter_val": (  # where sampling settings are chosen (RESULTS section 18), apart from crafter
        "2a54b88c1482f899aef8a1c7085977a7b2a4473238428be2de81ae23ed9d3f8c",
        "worldsim record env=crafter_mix policy=mixed episodes=32 steps=257 seed=200000",
    ),
    "crafter_long": (
        "453f47598bf286a74919ef3a51f4e0187f04e230f0a9734f2fa91ba3127c6c85",
        "worldsim record env=crafter_mix policy=scripted episodes=384 steps=1001 seed=100000",
    ),
    "doom_long": (
        "83088ff314597235781c4f374ed9397fbfc0c4a70e5b9a9870b08a3cbee574cf",
        "worldsim record env=doom_my_way_home policy=mixed episodes=12 steps=1001 seed=100000",
    ),
}

# Other sets that results name by manifest, each with its command: a store holding one of them
# under a frozen set's name is what it says, not a mistake to flag.
KNOWN = {
    "978609d54bbc6d0f686c0da334254b9d35a195560c8c4fe06aa636fa86160658":  # doom_horizon.py's
    "worldsim record env=doom_my_way_home policy=mixed episodes=32 steps=257 seed=100000",
    "c2ed7df0932471047178f98d189c2dbb9bff4f9e5a872b15173abeb0caf7004c":  # validation (RESULTS 23)
    "worldsim record env=doom_my_way_home policy=mixed episodes=12 steps=1001 seed=300000",
    "c3b49b35674d676e7221411d69df5d2b35b3bfa94bdc812d1f062e0b499e57cb":  # its bank
    "worldsim record env=doom_my_way_home policy=mixed episodes=8 steps=257 seed=300000",
    "8f76f2760ec123586701b63db1604d02e4b68ef4c8d276a46fd462132ecf63b5":  # Crafter's (RESULTS 24)
    "worldsim record env=crafter_mix policy=scripted episodes=384 steps=1001 seed=300000",
}


def load_model(ckpt, device, sampling=None):
    """The world model, sampling as its checkpoint says, or with `sampling`: a context level
    ("0.3") or dotted overrides of its SampleConfig ("sampler.steps=20,context_level=0.3")."""
    m = load_world_model(ckpt, device)
    if sampling not in (None, ""):  # 0 is a context level, not "keep"
        variant = sampling if "=" in str(sampling) else f"context_level={float(sampling)}"
        m.sample_cfg = with_sampling(m.sample_cfg, variant)
    return m


def sampling_record(m) -> dict:
    """The sampling `m` runs with, as a result records it."""
    return OmegaConf.to_container(OmegaConf.structured(m.sample_cfg))


def episodes(root):
    store = EpisodeStore(root)
    return [store.load(name) for name in store.names()]


def held_out_data(*roots: str) -> dict[str, str]:
    """Store -> sha256 of its manifest (its episodes' seeds and checksums): a result names the
    exact data it measured, since the same seeds record other episodes when the policy changes.
    A store named like a FROZEN set but holding other episodes (none of KNOWN) is said on
    stderr."""
    shas = dict(zip(roots, manifest_sha256(list(roots))))
    for root, sha in shas.items():
        frozen, command = FROZEN.get(Path(root).name, (sha, ""))
        if sha != frozen and sha not in KNOWN:
            print(
                f"evaluate: {root} is not the frozen held-out set (manifest sha256 {sha[:12]}..., "
                f"frozen {frozen[:12]}...): its numbers do not compare with RESULTS' bars; the "
                f"frozen set is `{command}`",
                file=sys.stderr,
            )
    return shas


def window_starts(eps, stride, count, length=8) -> list[tuple[int, int]]:
    """`count` (episode index, first latent frame) windows of `length` latent frames, one every
    `stride` frames, evenly subsampled: the windows every teacher-forced number of these RESULTS
    reads (8 frames, the window of every file before section 62's)."""
    windows = [
        (e, k) for e, ep in enumerate(eps) for k in range(0, len(ep.latents) - length + 1, stride)
    ]
    return windows[:: max(1, len(windows) // count)][:count]


def forced(m, eps, stride, count, idm=None):
    """Teacher-forced next latent frame on `count` windows of the file's own sampling window
    (its new frame after window - 1 true ones), true and shuffled actions; with an `idm`, how
    well it reads the true actions off the model's frames against the true ones."""
    length = m.sample_cfg.window
    windows = window_starts(eps, stride, count, length)
    true = teacher_forced(m, eps, windows, length, keep=idm is not None)
    frames = true.pop("frames", None)  # (N, tf, C, H, W): the model's new frames, for the IDM
    shuffled = teacher_forced(m, eps, windows, length, shuffle=True)
    summary = {**changed_window_summary(true, shuffled), "window": length}
    if idm is not None:
        summary["idm"] = idm_reads(idm, eps, windows, frames, length, m.model_cfg.action_dim)
    return summary


def text_pairs(m, first) -> dict:
    """Per axis: the opposite heading prompts from each first latent frame (B, 1, c, h, w) with
    actions null, the image shifts under each, and the % of pairs that follow them."""
    out = {}
    for axis in "xy":
        pair = prompt_pairs(m, first, axis, cells=4, new=7, rows=48, first_step=0)
        out[axis] = {k: pair[k] for k in ("prompts", "shifts")}
        out[axis]["follow_pct"] = 100 * float(np.mean(pair["follows"]))
    return out


def horizon(m, eps, count):
    """PSNR per frame of HORIZON latent frames rolled out from the first CTX true ones, over
    `count` episodes."""
    eps = [e for e in eps if len(e.latents) >= CTX + HORIZON][:count]
    return horizon_psnr(m, eps, CTX, HORIZON)


def main(data, out, device="cpu", long="", ckpt="pretrained:crafter", games="crafter,doom",
         sampling=None, noise_seed=0, truths=TRUTHS, captions="none"):  # fmt: skip
    windows, pairs, rollouts = COUNTS[torch.device(device).type]
    if not all(s.isdigit() for s in str(noise_seed).split(",")):
        refuse(f"NOISE_SEED {noise_seed!r} is not a seed or a list (0,1,2)")
    noise_seeds = [int(s) for s in str(noise_seed).split(",")]  # "0,1,2" or one seed
    given_truths, (first, truths) = truths, truth_range(truths)
    if captions not in CAPTIONS:
        refuse(f"CAPTIONS {captions!r} is not one of {', '.join(CAPTIONS)}")
    if captions != "none" and games != "crafter":
        refuse(
            f"CAPTIONS {captions} is Crafter's text (its clock and moves): run it with GAMES "
            "crafter"
        )
    out, m, clock = Path(out), load_model(ckpt, device, sampling), time.time()
    try:
        rollout_window(m)  # the sampling's, refused here rather than after the first results
    except ValueError as err:
        refuse(f"SAMPLING: {err}")
    # a Crafter-only model is evaluated without the ViZDoom stores (run.sh records them on demand)
    raw = {s: episodes(f"{data}/{s}") for s in STORES if Path(f"{data}/{s}").is_dir()}
    if not raw or (long != "only" and "crafter" not in raw):
        refuse(f"DATA {data} holds {sorted(raw) or 'no store'}: see the usage for what it needs")
    if long:
        checked_sequences(raw, games.split(","))  # before anything is written
    res = {"held_out_data": held_out_data(*(f"{data}/{s}" for s in raw)),
           "sampling": sampling_record(m),
           "noise_seeds": noise_seeds, "long_captions": captions}  # fmt: skip
    # a game whose long store is the frozen set judges its fixed truths (long_runs)
    shas = res["held_out_data"]
    frozen = [g for g in ("crafter", "doom")
              if shas.get(f"{data}/{g}_long") == FROZEN[f"{g}_long"][0]]  # fmt: skip
    if long and frozen and (first, truths) != (1, TRUTHS):
        refuse(f"the frozen {frozen} long store judges its fixed {TRUTHS} truths; TRUTHS "
               f"{given_truths} is for a validation store")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    if long != "only":
        crafter = [encode_latent_episode(m, e) for e in raw["crafter"]]
        scene = reads_scene_only(m)
        doom = [encode_latent_episode(m, e, scene) for e in raw.get("doom_my_way_home", [])]
        res.update(short(m, crafter, doom, windows, pairs, rollouts, out))
        save(out, res, clock)  # before the long rollouts, which take longest
    if long:
        # saved after each truth: a time limit that ends a later truth keeps the judged ones
        def judged(so_far: dict) -> None:
            save(out, res | so_far, clock)

        long_runs(
            m, raw, out, games.split(","), judged, noise_seeds, frozen, truths, captions, first
        )


def truth_range(truths) -> tuple[int, int]:
    """TRUTHS -> (the first truth judged, 1-based; how many): a count K judges the first K, a
    range F-L the F-th to the L-th (the rest of a judgement that a time limit cut short)."""
    text = str(truths)
    first, _, last = text.rpartition("-") if "-" in text else ("1", "", text)
    if not (first.isdigit() and last.isdigit()) or not 1 <= int(first) <= int(last):
        refuse(f"TRUTHS {text!r} is neither a count of true episodes (4) nor a range of them (3-4)")
    return int(first), int(last) - int(first) + 1


def refuse(message: str, script: str = "evaluate") -> NoReturn:
    """Bad input: one line naming it, exit code 2, nothing written."""
    print(f"{script}: {message}", file=sys.stderr)
    raise SystemExit(2)


def json_out(path: str, script: str) -> Path:
    """The one JSON file a script writes, refused (one line, exit code 2) before any work when it
    is a folder or its folder does not exist."""
    out = Path(path)
    if out.is_dir() or not out.parent.is_dir():
        refuse(f"OUT {path} must be a file path in an existing folder", script)
    return out


def write_json(out: Path, res: dict) -> None:
    """`res` as JSON at `out`, whole or not at all (a run stopped while writing leaves the last)."""
    tmp = out.with_name(f"{out.name}.tmp")
    tmp.write_text(json.dumps(res, indent=1))
    tmp.replace(out)


def save(out: Path, res: dict, clock: float) -> None:
    res["wall_s"] = time.time() - clock
    write_json(out / "results.json", res)


def short(m, crafter, doom, windows, pairs, rollouts, out) -> dict:
    """Teacher-forced windows, prompt pairs and short rollouts (with a strip of them)."""
    idm = load_idm(CRAFTER_IDM)
    res = {"crafter_teacher_forced": forced(m, crafter, 2, windows, idm)}
    if doom:
        res["doom_teacher_forced"] = forced(m, doom, 1, windows)
    first = torch.stack([e.latents[:1] for e in crafter[:pairs]])  # (B, 1, c, h, w)
    res.update({f"text_{axis}": row for axis, row in text_pairs(m, first).items()})
    res["crafter_horizon"], cv, ct = horizon(m, crafter, rollouts)
    rows = [from_model_frames(v[None])[0] for v in (ct[0], cv[0], ct[1], cv[1])]
    if doom:
        res["doom_horizon"], dv, dt = horizon(m, doom, rollouts)
        rows += [from_model_frames(v[None])[0] for v in (dt[0], dv[0])]
    save_frame_strip(rows, out / "strips.png", 2)
    return res


def stitched(eps, frames=LONG_FRAMES) -> list[dict]:
    """Consecutive sequences of `frames` frames from episodes in store order, each episode used
    once (an episode long enough is a sequence alone): frames, actions, the indices and seeds of
    the episodes used and the frames where a new episode starts (scene cuts)."""
    out, used = [], []
    for i in range(len(eps)):
        used.append(i)
        lengths = [eps[j].length for j in used]
        if sum(lengths) >= frames:
            cat = {k: np.concatenate([np.array(getattr(eps[j], k)) for j in used])[:frames]
                   for k in ("frames", "actions")}  # fmt: skip
            cuts = np.cumsum(lengths)[:-1].tolist()
            seeds = [int(eps[j].meta["seed"]) for j in used]
            prompt = (eps[used[0]].captions or {}).get("long", "")  # its first episode's caption
            out.append({**cat, "episodes": used, "seeds": seeds, "cuts": cuts, "prompt": prompt})
            used = []
    return out


def truth_calibration(truth: dict, refs: list[dict], bank_eps: list, other_game=None) -> dict:
    """The collapse rule's limits for `truth` (evals/long_rollout.py), calibrated on the reference
    sequences `refs` and the bank of held-out episodes `bank_eps` (a reference's own episodes are
    left out of its bank): one calibration serves every noise seed's rollout of that truth."""
    seed_of = [int(e.meta["seed"]) for e in bank_eps]
    leave_out = [[j for j, s in enumerate(seed_of) if s in r["seeds"]] for r in refs]
    bank = [np.array(e.frames) for e in bank_eps]
    return calibrate(truth["frames"], [r["frames"] for r in refs], bank, leave_out, other_game)


class Reconstruction(NamedTuple):
    """A truth through the model's VAE (`vae_reconstruction`)."""

    latent: Any  # the truth's latent episode (encode_latent_episode)
    true: np.ndarray  # (T, H, W, 3) the truth's frames as the model's VAE sees them
    vae: dict  # the VAE reconstruction's `drift`, judged by the collapse rule


def vae_reconstruction(m, truth: dict, cal: dict) -> Reconstruction:
    """The truth's latent episode, its frames as the model's VAE sees them, and its VAE
    reconstruction's `drift` judged by the collapse rule under the calibration `cal`: a truth whose
    reconstruction collapses cannot be held by any DiT on that VAE (RESULTS 24)."""
    ep = SimpleNamespace(frames=truth["frames"], actions=truth["actions"],
                         length=len(truth["frames"]), captions={})  # fmt: skip
    lat = encode_latent_episode(m, ep, text=False)
    true = from_model_frames(lat.frames[None])[0]
    vae = drift(from_model_frames(m.decode(lat.latents[None]).cpu())[0], true, bank=cal["bank"])
    vae.update(judge(vae, cal["limits"]))
    return Reconstruction(lat, true, vae)


def told_captions(actions, captions: str) -> Captions:
    """The window captions `clock` or `foreseen` of a Crafter episode from its actions (T, 17),
    one-hot: envs/crafter/captions.py `foreseen_captions`."""
    return foreseen_captions(np.argmax(np.asarray(actions), 1), captions == "foreseen")


def rollout_prompts(m, truth: dict, captions: str, n: int) -> list:
    """The text of `n` long rollouts of `truth`: one prompt for all steps (`none`: the truth's
    caption for a model that reads its scene alone, else the empty one), or per step the caption
    of its window told only the game clock (`clock`) or also the heading of its actions
    (`foreseen`; envs/crafter/captions.py `foreseen_captions`)."""
    if captions == "none":
        return [truth["prompt"] if reads_scene_only(m) else ""] * n
    told = told_captions(truth["actions"], captions)
    tf, window, steps = m.latent_info.time_factor, m.sample_cfg.window, []
    for t in range(1, LONG + 1):  # the latent frame step t makes, seeing at most window - 1 before
        start = max(0, t - (window - 1))
        steps.append([told.for_window(*pixel_span(start, t - start + 1, tf))] * n)
    return steps


def long_cases(
    m,
    truth: dict,
    refs: list[dict],
    cal: dict,
    recon: Reconstruction,
    noise_seeds=(0,),
    captions: str = "none",
):
    """The model's long rollouts of `truth` (LONG latent frames from its first frame, under its
    actions, with the text `captions` of `rollout_prompts`), one per seed of `noise_seeds` (the
    sampling noise), rolled out together, each yielded as soon as it is judged by the collapse
    rule under the calibration `cal` of the references `refs`, beside its VAE's reconstruction
    `recon` (`vae_reconstruction`, computed once for every seed)."""
    lat, true, vae = recon
    curves = ("curve_histogram_distance", "curve_contrast_ratio", "curve_game_distance")
    brief = lambda d: {k: v for k, v in d.items() if k not in curves}  # noqa: E731
    common = {
        "vae": vae,
        "limits": cal["limits"],
        "calibrated": cal["calibrated"],
        "references": [
            {"seeds": r["seeds"], "cuts": r["cuts"], **brief(d)}
            for r, d in zip(refs, cal["references"])
        ],
        "corruptions": {k: brief(d) for k, d in cal["corruptions"].items()},
        "truth_seeds": truth["seeds"],
        "truth_cuts": truth["cuts"],
    }
    # every noise seed's rollout in one batch, each row drawing what it draws alone (a GPU
    # rollout at batch 1 is launch-bound: three seeds should cost little more than one)
    n = len(noise_seeds)
    first = repeat(lat.latents[:1], "t c h w -> n t c h w", n=n)  # (n, 1, c, h, w)
    acts = repeat(lat.actions, "t a -> n t a", n=n)  # (n, T, A')
    prompts = rollout_prompts(m, truth, captions, n)
    z = rollout(m, first, acts, prompts, LONG, seed=list(noise_seeds), first_step=0)
    preds = from_model_frames(m.decode(z).cpu())  # (n, 1 + 4 LONG, H, W, 3)
    for noise_seed, pred in zip(noise_seeds, preds):
        res = drift(pred, true, bank=cal["bank"])
        res.update(judge(res, cal["limits"]))
        yield {"noise_seed": noise_seed, "model": res, **common, "pred": pred}


def long_sequences(raw) -> dict[str, tuple[list[dict], list, str]]:
    """Per game with enough long held-out data: its 1,001-frame sequences (whole true episodes
    first, then any stitched references), the held-out episodes that make its bank of true
    frames, and which truths these are. long_runs takes the first `truths` whole episodes in turn as
    the truth and the others as its references.

    Crafter: the episodes of crafter_long (policy=scripted, steps=1001) that live 1,001 frames
    (>= 4; 10 of the 384 scripted episodes from seed 100000 do); the bank adds the short held-out
    crafter/. Under policy=mixed no episode lives that long (held-out seeds 100000-100031 end at
    61-255 frames), and truth stitched from short episodes (session 7) cut to a new map and
    daylight that no model can predict, and its references fail rule v2's calibration
    (evals/long_rollout.py).
    ViZDoom: the episodes of doom_long that live 1,001 frames (record doom_long with episodes >=
    10: seeds 100001 and 100002 reach the goal early), else beside the first one doom_my_way_home's
    other episodes stitched."""
    out = {}
    longs = [e for e in raw.get("crafter_long", []) if e.length >= LONG_FRAMES]
    if len(longs) >= 4:  # else no Crafter case: long_runs names the game it misses
        seqs = stitched(longs)  # one sequence per episode: each is long enough alone
        bank = raw.get("crafter", []) + raw["crafter_long"]
        out["crafter"] = (seqs, bank, "crafter_long: true episodes (policy=scripted)")
    if "doom_long" in raw:
        longs = [e for e in raw["doom_long"] if e.length >= LONG_FRAMES]
        doom = stitched(longs)
        seed = doom[0]["seeds"][0]
        others = [e for e in raw.get("doom_my_way_home", []) if int(e.meta["seed"]) != seed]
        truth = "true doom_long episodes"
        if len(doom) < 2:
            doom += stitched(others)
            truth += ", references stitched from doom_my_way_home"
        out["doom"] = (doom, raw["doom_long"] + others, truth)
    return out


def held_so_far(cases: list[dict], planned: int) -> dict:
    """How many of the truth-draws judged so far hold (of `planned`), the truths whose VAE
    reconstruction collapses, and the draws themselves."""
    held = sum(not c["model"]["collapsed"] for c in cases)
    done = "" if len(cases) == planned else f" judged, {planned} planned"
    # a frozen truth whose VAE reconstruction collapses cannot be held by any DiT on that VAE
    # (RESULTS 24): named, so that a verdict does not rest on it unknowingly
    unholdable = sorted({c["truth_seeds"][0] for c in cases if c["vae"]["collapsed"]})
    return {
        "held": f"{held} of {len(cases)} truth-draws{done}",
        "vae_collapses_on": unholdable,
        "cases": cases,
    }


def long_runs(
    m, raw, out, games, judged, noise_seeds=(0,), frozen=(), truths=TRUTHS, captions="none", first=1
) -> None:
    """1,000-frame rollouts of each game in `games` on `truths` true episodes, one per seed of
    `noise_seeds` (the rollouts' sampling noise), each truth-draw with its collapse verdict
    (evals/long_rollout.py; the references are the game's other sequences, and the other game's
    truth is one of the corruptions), a drift plot each and one strip. The truths are the first
    `truths` whole episodes; on a game not in `frozen` (its long store is not the frozen set: a
    validation set) an episode whose VAE reconstruction collapses is passed over for the next
    (RESULTS 25: it cannot tell one DiT from another), while a frozen set's truths stay fixed.
    `judged` receives the results so far after each draw ("held": "k of n truth-draws judged", n
    planned), the last call all of them. `captions`: the rollouts' text (`rollout_prompts`).
    `first` > 1 passes over the first `first` - 1 truths that would be judged, as if judged."""
    seqs = checked_sequences(raw, games)
    res, long_rows = {}, []
    for env in games:
        sequences, bank_eps, truth = seqs[env]
        other = next((s[0]["frames"] for g, (s, *_) in seqs.items() if g != env), None)
        whole = [i for i, q in enumerate(sequences) if not q["cuts"]]
        cases, passed_over, planned = [], [], truths * len(noise_seeds)
        skip = first - 1  # truths before the range, each counted as its VAE holds
        for i in whole:
            if len(cases) == planned:
                break
            refs = sequences[:i] + sequences[i + 1 :]
            cal = truth_calibration(sequences[i], refs, bank_eps, other)
            recon = vae_reconstruction(m, sequences[i], cal)
            if recon.vae["collapsed"] and env not in frozen:
                passed_over.append(sequences[i]["seeds"][0])
                continue
            if skip:
                skip -= 1
                continue
            long_rows.append(sequences[i]["frames"])
            for case in long_cases(m, sequences[i], refs, cal, recon, noise_seeds, captions):
                long_rows.append(case.pop("pred"))
                shown = {"model": case["model"], "VAE of the truth": case["vae"]}
                name = f"long_rollouts_{env}_seed{case['truth_seeds'][0]}"
                noise_seed = case["noise_seed"]
                name += f"_noise{noise_seed}" if noise_seed else ""  # seed 0: the earlier names
                plot_drift(shown, out / f"{name}.png", case["limits"])
                cases.append(case)
                res[f"long_{env}"] = {"truth": truth, "noise_seeds": list(noise_seeds),
                                      "truths_fixed": env in frozen,
                                      "passed_over_vae_collapses": passed_over,
                                      **held_so_far(cases, planned)}  # fmt: skip
                save_frame_strip(long_rows, out / "long_strip.png", 100)
                judged(res)
        if len(cases) < planned:
            refuse(
                f"{env}: {len(cases) // len(noise_seeds)} of {truths} truths whose VAE "
                f"reconstruction holds (passed over: {passed_over}): record more long episodes"
            )


def checked_sequences(raw, games) -> dict:
    """`long_sequences(raw)`, refused (one line, exit code 2) unless every game of `games` has
    >= 4 of them and a whole episode among them (a truth is one, judged against >= 3 others)."""
    seqs = long_sequences(raw)
    for env in games:
        sequences = seqs.get(env, ([], None, None))[0]
        if len(sequences) < 4 or all(q["cuts"] for q in sequences):
            refuse(
                f"{env}: {len(sequences)} long held-out sequences under DATA, 4 needed with one "
                f"whole episode (crafter_long: episodes of {LONG_FRAMES} frames): see the usage"
            )
    return seqs


if __name__ == "__main__":
    main(*sys.argv[1:])
