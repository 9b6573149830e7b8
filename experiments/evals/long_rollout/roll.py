import sys, time, numpy as np, torch
sys.path.insert(0, "experiments/game_world_models")
import evaluate as ev
from worldsim.training.world_model import load_world_model
torch.manual_seed(0)
t = time.time()
m = load_world_model("/work/ckpt6/crafter6.pt", "cpu")
raw = ev.episodes("/tmp/lr/game_eval/crafter")
lengths = np.cumsum([e.length for e in raw])
used = raw[: int(lengths.searchsorted(1001)) + 1]
frames, actions = (np.concatenate([np.array(getattr(e, k)) for e in used])[:1001] for k in ("frames", "actions"))
res, pred = ev.long_run(m, frames, actions)
np.save("/tmp/lr/crafter_pred.npy", pred)
print("done", time.time() - t, res["histogram_distance"], res["contrast_within_20pct"])
