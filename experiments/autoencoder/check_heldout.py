"""Re-score a VAE checkpoint on the GPU run's held-out Bounce episodes, regenerated from seeds.

    python experiments/autoencoder/check_heldout.py runs/gpu/vae_bounce.ckpt [--episodes 16]

The GPU run made episodes ep_000000..ep_000319 with `rollout env=bounce steps=65 seed=0`, so
episode k has seed k; its held-out ones are those `split_of(name, 0.1, 0)` sends to 'val'.
Frames render here with Mesa (CPU) instead of the GPU's EGL, so pixels may differ slightly.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

os.environ.setdefault("MUJOCO_GL", "egl")

from envs.make import EnvConfig  # noqa: E402
from worldsim.data.clips import split_of  # noqa: E402
from worldsim.data.record import record_episodes  # noqa: E402
from worldsim.data.store import EpisodeStore, episode_name  # noqa: E402
from worldsim.models.autoencoder import load_autoencoder  # noqa: E402
from worldsim.training.autoencoder import evaluate_reconstruction  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--episodes", type=int, default=16)
    args = parser.parse_args()
    held_out = [k for k in range(320) if split_of(episode_name(k), 0.1, 0) == "val"][
        : args.episodes
    ]
    model = load_autoencoder(args.checkpoint)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in held_out:
            out = f"{tmp}/{k}"
            record_episodes(
                EnvConfig(id="worldsim/MujocoBounce-v0", width=64, height=64),
                out,
                1,
                65,
                k,
                1,
                "0/1",
                "random",
                False,
            )
            results.append(
                evaluate_reconstruction(model, EpisodeStore(out), ["ep_000000"]) | {"seed": k}
            )
    psnr = sum(r["psnr"] for r in results) / len(results)
    ssim = sum(r["ssim"] for r in results) / len(results)
    print(
        json.dumps(
            {
                "checkpoint": args.checkpoint,
                "episodes": [episode_name(k) for k in held_out],
                "psnr": psnr,
                "ssim": ssim,
                "per_episode_psnr": [round(r["psnr"], 2) for r in results],
            }
        )
    )


if __name__ == "__main__":
    main()
