"""What a rollout-bank sample asks of a model (game RESULTS section 40), measured on held-out
episodes: the flow loss on a window's last latent frame from the episode's true context, against
from the model's own rollout of that context (`R` latent frames from the 7 true frames before,
under the episode's actions: the bank's samples, `worldsim.training.rollout_bank`). The same
levels and noise for both, so the difference is the context alone; beside it, the PSNR of the
rollout's last context frame against the true one.

    python experiments/game_world_models/bank_loss.py STORE OUT EPISODES R[,R...] CKPT [DEVICE]
"""

from __future__ import annotations

import json
import runpy
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from evals.latent_rollout import encode_latent_episode, reads_scene_only
from worldsim.metrics import psnr

GAME = runpy.run_path(str(Path(__file__).resolve().parent / "evaluate.py"))
CTX = GAME["CTX"]  # context latent frames of a window: the model's window is CTX + 1


def windows_of(episode, frames: int) -> list[int]:
    """Starts r of non-overlapping spans [r, r + CTX + frames + 1) inside the episode."""
    span = CTX + frames + 1
    return list(range(0, len(episode.latents) - span + 1, span))


def main(store, out, episodes, frames_list, ckpt, device="cpu") -> None:
    out = GAME["json_out"](out, "bank_loss")  # refused before minutes of work
    clock, m = time.time(), GAME["load_model"](ckpt, device)
    # the conditioning both ways, and no re-estimated contexts: only the context differs
    m.flow = replace(m.flow, drop_actions=0.0, drop_text=0.0, context_estimate=0.0)
    held = GAME["episodes"](store)[: int(episodes)]
    eps = [encode_latent_episode(m, e, reads_scene_only(m)) for e in held]
    res = {"model": ckpt, "held_out_data": GAME["held_out_data"](store), "by_frames": {}}
    for frames in [int(f) for f in str(frames_list).split(",")]:
        cuts = [(ep, slice(r, r + CTX + frames + 1)) for ep in eps for r in windows_of(ep, frames)]
        true_span = torch.stack([ep.latents[cut] for ep, cut in cuts])  # (N, CTX + R + 1, c, h, w)
        act = torch.stack([ep.actions[cut] for ep, cut in cuts])  # (N, CTX + R + 1, A)
        true_window = true_span[:, frames:]  # (N, CTX + 1, c, h, w): the bank's target window
        with torch.no_grad():
            rollout = m.bank_rollout(true_span[:, :CTX], frames, act[:, :-1], None, 0)
            bank_window = torch.cat([rollout[:, -CTX:], true_window[:, -1:]], dim=1)
            losses = {}
            for name, window in (("true_context", true_window), ("rollout_context", bank_window)):
                batch = {"latents": window, "actions": act[:, frames:], "rollout_rows": len(window)}
                draws = [m.loss(batch, torch.Generator().manual_seed(s)) for s in range(8)]
                losses[name] = float(torch.stack(draws).mean())
            # the last context frame's last video frame, decoded in sequence both ways
            made, true = m.decode(rollout)[:, -1], m.decode(true_span[:, : CTX + frames])[:, -1]
        res["by_frames"][frames] = {
            "windows": len(true_span),
            "loss": losses,
            "ratio": losses["rollout_context"] / losses["true_context"],
            "last_context_frame_psnr_db": float(psnr(made, true).mean()),
        }
        print(frames, json.dumps(res["by_frames"][frames]), flush=True)
    res["wall_s"] = time.time() - clock
    GAME["write_json"](out, res)


if __name__ == "__main__":
    main(*sys.argv[1:])
