"""Does a DiT told the actions' ages (`model.action_ages`) wake its sleeper by them? RESULTS
section 74.

Usage: python experiments/game_world_models/wake_probe.py STORE CKPT [DEVICE [NOISE_SEEDS]] > OUT
STORE holds Crafter episodes recorded from their reset with the scripted policy, which sleeps
when tired; each sleep of LONG frames or more that ends inside its episode is a wake-up. Around
each wake-up, at each of OFFSETS, the latent frame whose new pixel frames start that many frames
after the wake-up is sampled after its true window (teacher-forced, the empty prompt, as the long
rollouts sample) three times: with the actions' true ages; with every `sleep` pressed before the
window forgotten (its age as if it had not slept for the model's whole cap); and with those
forgotten but one pressed on the step before the window (a sleep just begun). The window's own
actions are the same in all three. Printed per offset: the share of those frames that show an
awake view (envs/crafter/sleep_view.py), the truth's beside the model's under each history, over
the wake-ups and NOISE_SEEDS (0,1 unless given). A model that times the wake-up by the ages
wakes later after a recent press than after the true one; a model not told the ages is sampled
with the true history alone (the others would give it the same input).
"""

import json
import sys
import time

import crafter
import numpy as np
import torch
from evaluate import episodes, held_out_data, refuse  # this folder's evaluate.py
from keep_frames import night_sleeps  # this folder's
from sleep_count import LONG, SLEEP  # this folder's

from envs.crafter.sleep_view import sleeper_view
from evals.latent_rollout import LatentEpisode, encode_latent_episode, teacher_forced
from evals.model import from_model_frames
from worldsim.config import ConfigError
from worldsim.training.world_model import load_world_model

OFFSETS = (-48, -24, -12, -4, 0, 4, 12, 24)  # pixel frames from the truth's first awake frame
NOOP = list(crafter.constants.actions).index("noop")  # its index in crafter's action list


def awake(frames: torch.Tensor) -> np.ndarray:
    """Model frames (N, C, H, W) in [-1, 1] -> (N,) bool: the view is not a sleeper's."""
    return ~sleeper_view(from_model_frames(frames[None])[0])


def retold(m, episode, lat: LatentEpisode, k: int, recent: bool) -> LatentEpisode:
    """`lat` with the `sleep` presses before window k's actions replaced by noop (forgotten), and
    with `recent` one `sleep` pressed on the step just before them; the ages recomputed from the
    reset; its latents, frames and the window's own actions unchanged."""
    tf, width = m.latent_info.time_factor, m.model_cfg.action_dim
    raw = np.array(episode.actions[: 1 + tf * (len(lat.latents) - 1)], np.float32)  # (T, A)
    cut = 1 + tf * (k - 1)  # pixel frame of the window's first action (k >= 1)
    one_hot = np.eye(raw.shape[1], dtype=np.float32)
    raw[np.flatnonzero(raw[:cut, SLEEP] > 0.5)] = one_hot[NOOP]
    if recent:
        raw[cut - 1] = one_hot[SLEEP]
    acts = m.latent_actions(torch.from_numpy(raw)[None], len(lat.latents))[0]  # (T', 2 A')
    if not torch.equal(acts[k:, :width], lat.actions[k:, :width]):
        raise AssertionError("retelling the history changed the window's own actions")
    return LatentEpisode(lat.frames, lat.latents, acts, None)


def wake_windows(m, eps, length: int):
    """[(episode index, wake-up frame, k, offset, truth awake)] for each wake-up of a LONG sleep
    and OFFSET whose window fits its episode."""
    tf, out = m.latent_info.time_factor, []
    for e, ep in enumerate(eps):
        frames = np.asarray(ep.frames)  # (T, H, W, 3) uint8
        latent_frames = 1 + (len(frames) - 1) // tf
        for _, b in night_sleeps(frames):
            for offset in OFFSETS:
                last = (b + offset - 1) // tf + 1  # the sampled latent frame
                k = last - length + 1
                if k >= 1 and last < latent_frames:
                    truth = not sleeper_view(frames[tf * last][None])[0]
                    out.append((e, b, k, offset, bool(truth)))
    return out


def main(store, ckpt, device="cpu", noise_seeds="0,1"):
    if not all(s.isdigit() for s in noise_seeds.split(",")):
        refuse(f"NOISE_SEEDS {noise_seeds!r} is not a seed or a list (0,1)", "wake_probe")
    clock, m = time.time(), load_world_model(ckpt, device)
    length, eps = m.sample_cfg.window, episodes(store)
    found = wake_windows(m, eps, length)
    if not found:
        refuse(f"STORE {store} holds no sleep of {LONG}+ frames that ends inside it", "wake_probe")
    lats = {e: encode_latent_episode(m, eps[e], text=False) for e in {f[0] for f in found}}
    histories = {"true": [lats[e] for e, *_ in found]}
    if m.model_cfg.action_ages:  # a model not told the ages is given the same window either way
        for name, recent in (("forgotten", False), ("recent", True)):
            histories[name] = [retold(m, eps[e], lats[e], k, recent) for e, _, k, *_ in found]
    windows = [(i, f[2]) for i, f in enumerate(found)]
    offsets, truth = np.array([f[3] for f in found]), np.array([f[4] for f in found])
    res = {"ckpt": ckpt, "held_out_data": held_out_data(store),
           "action_ages": m.model_cfg.action_ages, "wake_ups": len({f[:2] for f in found}),
           "noise_seeds": noise_seeds, "by_offset": {}}  # fmt: skip
    woke = {}
    for name, lat_list in histories.items():
        runs = [
            teacher_forced(m, lat_list, windows, length, seed=int(s), keep=True)["frames"]
            for s in noise_seeds.split(",")
        ]  # (N, tf, C, H, W) each
        woke[name] = np.stack([awake(f[:, -1]) for f in runs])  # (seeds, N): the last new frame
    for offset in OFFSETS:
        at = offsets == offset
        res["by_offset"][offset] = {
            "windows": int(at.sum()),
            "truth_awake": float(truth[at].mean()),
            **{f"{name}_awake": float(w[:, at].mean()) for name, w in woke.items()},
        }
    print(json.dumps({**res, "wall_s": time.time() - clock}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4, 5):
        refuse(__doc__.split("\n\n")[1].splitlines()[0], "wake_probe")
    try:
        main(*sys.argv[1:])
    except (ConfigError, FileNotFoundError) as err:  # a missing store or model file
        refuse(str(err), "wake_probe")
