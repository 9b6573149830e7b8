"""evaluate.long_runs on Crafter with the model's rollout read from /tmp/lr/crafter_pred.npy (made by
/tmp/lr/roll.py: evaluate.long_run's rollout, same truth, actions and seeds) instead of recomputed."""
import sys, json, time
from pathlib import Path
from types import SimpleNamespace
sys.path.insert(0, "experiments/game_world_models")
import numpy as np, torch
import evaluate as ev
from evals.long_rollout import drift
from evals.model import from_model_frames
from worldsim.training.world_model import load_world_model

def cached_long_run(m, frames, actions, bank):
    ep = SimpleNamespace(frames=frames, actions=actions, length=len(frames), captions={})
    lat = ev.encode_latent_episode(m, ep, text=False)
    with torch.no_grad():
        vae = from_model_frames(m.decode(lat.latents[None]).cpu())[0]
    true = from_model_frames(lat.frames[None])[0]
    pred = np.load("/tmp/lr/crafter_pred.npy")
    assert pred.shape == true.shape
    return drift(pred, true, bank=bank), pred, drift(vae, true, bank=bank)

ev.long_run = cached_long_run
t = time.time()
m = load_world_model(sys.argv[1], "cpu")
raw = {"crafter": ev.episodes("/tmp/lr/game_eval/crafter")}  # DATA/crafter only: no ViZDoom case
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
res = ev.long_runs(m, raw, out)
res["wall_s"] = time.time() - t
(out / "results.json").write_text(json.dumps(res, indent=1))
r = res["long_crafter"]
np.set_printoptions(precision=3, linewidth=200)
print("calibrated", r["calibrated"], "limits", {k: v for k, v in r["limits"].items() if not k.startswith("band")})
for who in ("model", "vae"):
    d = r[who]; print(who, "collapsed", d["collapsed"], "first", d["first_collapsed_block"], d["first_collapsed_frame"], d["reasons"])
    for k in ("histogram_distance", "contrast_within_20pct", "game_distance", "motion", "sharpness"): print("   ", k, np.array(d[k]))
for i, d in enumerate(r["references"]):
    print("ref", d["seeds"], d["collapsed"])
    for k in ("histogram_distance", "contrast_within_20pct", "game_distance", "motion", "sharpness"): print("   ", k, np.array(d[k]))
for n, d in r["corruptions"].items():
    print(n, d["collapsed"], d["first_collapsed_block"], sorted({x for rr in d["reasons"] for x in rr}))
    for k in ("histogram_distance", "contrast_within_20pct", "game_distance", "motion", "sharpness"): print("   ", k, np.array(d[k]))
