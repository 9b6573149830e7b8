"""Issue 15's acceptance measurements of pretrained:crafter (RESULTS.md has the commands).

Usage: python experiments/game_world_models/evaluate.py DATA OUT [DEVICE [long|only [CKPT]]]
DATA holds the held-out stores crafter/, doom_my_way_home/ and doom_long/ (RESULTS.md); CKPT is
pretrained:crafter unless given. On a GPU the samples are larger (COUNTS). `long` adds the
1,000-frame rollouts; `only` runs just those.
"""

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from evals.latent_rollout import (
    changed_window_summary,
    encode_latent_episode,
    horizon_psnr,
    idm_reads,
    rollout,
    teacher_forced,
)
from evals.long_rollout import drift, plot_drift
from evals.model import from_model_frames
from evals.prompt_motion import prompt_pairs
from worldsim.data.store import EpisodeStore
from worldsim.models.idm import load_idm
from worldsim.training.world_model import load_world_model
from worldsim.video import save_frame_strip

CTX, HORIZON, LONG = 7, 8, 250  # latent frames: context, autoregressive horizon, long rollout
# teacher-forced windows, prompt starts per axis (pairs = 2 x starts), horizon rollouts; the CPU
# counts fit ~20 min on an idle 2-core CPU with the long rollouts (RESULTS.md)
# the control suite's shipped Crafter IDM (from the repository root: scripts run from anywhere)
CRAFTER_IDM = str(Path(__file__).resolve().parents[2] / "worldsim/assets/idm/crafter.pt")
STORES = ("crafter", "doom_my_way_home", "doom_long")  # held-out stores under DATA
COUNTS = {"cpu": (10, 32, 2), "cuda": (256, 32, 16)}


def episodes(root):
    store = EpisodeStore(root)
    return [store.load(name) for name in store.names()]


def forced(m, eps, stride, count, idm=None):
    """Teacher-forced next latent frame on `count` windows, true and shuffled actions; with an
    `idm`, how well it reads the true actions off the model's frames against the true ones."""
    windows = [(e, k) for e, ep in enumerate(eps) for k in range(0, len(ep.latents) - 7, stride)]
    windows = windows[:: max(1, len(windows) // count)][:count]
    true = teacher_forced(m, eps, windows, keep=idm is not None)
    frames = true.pop("frames", None)  # (N, tf, C, H, W): the model's new frames, for the IDM
    summary = changed_window_summary(true, teacher_forced(m, eps, windows, shuffle=True))
    if idm is not None:
        summary["idm"] = idm_reads(idm, eps, windows, frames)
    return summary


def text_pairs(m, first) -> dict:
    """Per axis: the opposite heading prompts from each first latent frame (B, 1, c, h, w) with
    actions null, the image shifts under each, and the % of pairs that follow them."""
    out = {}
    for axis in "xy":
        pair = prompt_pairs(m, first, axis, cells=4, new=7, rows=48)
        out[axis] = {k: pair[k] for k in ("prompts", "shifts")}
        out[axis]["follow_pct"] = 100 * float(np.mean(pair["follows"]))
    return out


def horizon(m, eps, count):
    """PSNR per frame of HORIZON latent frames rolled out from the first CTX true ones, over
    `count` episodes."""
    eps = [e for e in eps if len(e.latents) >= CTX + HORIZON][:count]
    return horizon_psnr(m, eps, CTX, HORIZON)


def long_run(m, frames, actions):
    """LONG latent frames from the first frame, under the episode's actions, prompt ""."""
    ep = SimpleNamespace(frames=frames, actions=actions, length=len(frames), captions={})
    lat = encode_latent_episode(m, ep, text=False)
    z = rollout(m, lat.latents[None, :1], lat.actions[None], [""], LONG)
    pred = from_model_frames(m.decode(z).cpu())[0]
    return drift(pred, from_model_frames(lat.frames[None])[0]), pred


def main(data, out, device="cpu", long="", ckpt="pretrained:crafter"):
    windows, pairs, rollouts = COUNTS[torch.device(device).type]
    out, m, clock = Path(out), load_world_model(ckpt, device), time.time()
    out.mkdir(parents=True, exist_ok=True)
    # a Crafter-only model is evaluated without the ViZDoom stores (run.sh records them on demand)
    raw = {s: episodes(f"{data}/{s}") for s in STORES if Path(f"{data}/{s}").is_dir()}
    crafter = [encode_latent_episode(m, e) for e in raw["crafter"]]
    doom = [encode_latent_episode(m, e, text=False) for e in raw.get("doom_my_way_home", [])]
    res = {} if long == "only" else short(m, crafter, doom, windows, pairs, rollouts, out)
    save(out, res, clock)  # before the long rollouts, which take longest
    if long:
        res.update(long_runs(m, raw, out))
        save(out, res, clock)


def save(out: Path, res: dict, clock: float) -> None:
    res["wall_s"] = time.time() - clock
    (out / "results.json").write_text(json.dumps(res, indent=1))


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


def long_runs(m, raw, out) -> dict:
    """1,000-frame rollouts of Crafter (and ViZDoom's long episode), their strip and drift plot."""
    res = {}
    # no held-out crafter_mix episode lives 1001 frames: episodes are stitched in seed order
    lengths = np.cumsum([e.length for e in raw["crafter"]])
    used = raw["crafter"][: int(lengths.searchsorted(1001)) + 1]
    frames, actions = (
        np.concatenate([np.array(getattr(e, k)) for e in used])[:1001]
        for k in ("frames", "actions")
    )
    res["long_crafter"], crafter_pred = long_run(m, frames, actions)
    res["long_crafter"]["stitched_lengths"] = [e.length for e in used]
    long_rows, drifts = [frames, crafter_pred], {"crafter": res["long_crafter"]}
    if "doom_long" in raw:
        d = raw["doom_long"][0]
        res["long_doom"], doom_pred = long_run(m, np.array(d.frames), np.array(d.actions))
        long_rows += [d.frames, doom_pred]
        drifts["doom"] = res["long_doom"]
    save_frame_strip(long_rows, out / "long_strip.png", 100)
    plot_drift(drifts, out / "long_rollouts.png")
    return res


if __name__ == "__main__":
    main(*sys.argv[1:])
