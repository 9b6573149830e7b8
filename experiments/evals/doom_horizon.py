"""ViZDoom numbers of issue 15 on more held-out episodes than the game RESULTS' CPU run (10
windows, 2 rollouts): teacher-forced next latent frame against copy-last on changed windows, and
autoregressive PSNR against horizon, with its plot. The functions are the game evaluation's
(`experiments/game_world_models/evaluate.py`); only the counts differ.

Usage: python experiments/evals/doom_horizon.py STORE OUT WINDOWS ROLLOUTS HORIZON [CKPT [DEVICE
       [SAMPLING]]]
STORE holds held-out ViZDoom episodes (`doom_my_way_home` for the bars); ROLLOUTS=0 measures
teacher-forced alone; HORIZON is in latent frames (4 video frames each); SAMPLING overrides the
checkpoint's sampling as in evaluate.py: a `context_level`, or dotted overrides.
"""

import json
import runpy
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from evals.latent_rollout import encode_latent_episode, horizon_psnr, reads_scene_only  # noqa: E402

GAME = runpy.run_path(str(Path(__file__).resolve().parents[1] / "game_world_models/evaluate.py"))
CTX = GAME["CTX"]  # true latent frames before the rollout, as in the game RESULTS


def plot_horizon(curves: dict, path: Path, title: str) -> None:
    """PSNR per generated frame, model against copy-last."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set(xlabel="generated frame", ylabel="PSNR (dB)", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(
    store, out, windows, rollouts, horizon, ckpt="pretrained:doom", device="cpu", sampling=None
):
    clock, m, out = time.time(), GAME["load_model"](ckpt, device, sampling), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    eps = [encode_latent_episode(m, e, reads_scene_only(m)) for e in GAME["episodes"](store)]
    res = {"model": ckpt, "episodes": len(eps), "context_level": m.sample_cfg.context_level}
    res["sampling"] = GAME["sampling_record"](m)  # SAMPLING may change more than the level
    res["held_out_data"] = GAME["held_out_data"](store)
    res["teacher_forced"] = GAME["forced"](m, eps, 1, int(windows))
    if int(rollouts) > 0:
        long_enough = [e for e in eps if len(e.latents) >= CTX + int(horizon)][: int(rollouts)]
        res["horizon"] = horizon_psnr(m, long_enough, CTX, int(horizon))[0]
    res["wall_s"] = time.time() - clock
    (out / "doom_horizon.json").write_text(json.dumps(res, indent=1))
    if "horizon" in res:
        curves = {k: res["horizon"][k] for k in ("model", "copy_last")}
        scenario = Path(store).name.removeprefix("doom_")
        title = f"ViZDoom {scenario}, {res['horizon']['episodes']} held-out episodes, 64x48"
        plot_horizon(curves, out / "doom_horizon.png", title)
    print(json.dumps({k: v for k, v in res.items() if k != "horizon"}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
