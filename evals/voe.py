"""Violation-of-expectation scoring: a model's surprise at each clip of a pair (evals/voe_pairs.py),
and the accuracy of telling the impossible clip from the possible one (chance 50 %).

Surprise of a clip (its future, conditioned on the case's context and actions):
- a world model (`WorldModel`, or a `DiTPredictor` holding one): its rectified-flow loss on the
  clip's latent frames at fixed noise levels LEVELS and noise seeds SEEDS, averaged; the context
  latents are clean (level 0) and the same noise is drawn for every clip of a case;
- any other `VideoModel` (copy-last, a user's adapter): the mean absolute pixel error of the clip
  against the model's prediction (copy-last: against the last context frame repeated);
- the simulator (`truth_surprises`): the mean absolute pixel error of the clip against the case
  re-simulated from its seed and actions, i.e. against what physics does from the context state.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from einops import rearrange, repeat

from evals.generate import predict_window
from evals.model import to_model_frames
from evals.resim import case_env, replay
from evals.scenarios import Case
from evals.suite import nanmean
from evals.voe_pairs import VoEPair
from worldsim.diffusion.flow import flow_loss, noisy, velocity_target
from worldsim.models.latents import encode_video
from worldsim.training.world_model import WorldModel

LEVELS = (0.25, 0.5, 0.75)  # noise levels of the clip's latent frames
SEEDS = (0, 1)  # noise draws per level

Surprises = Callable[[Case, list[np.ndarray]], np.ndarray]  # (case, clips) -> (len(clips),)


def _pixel_error(clips: list[np.ndarray], reference: np.ndarray) -> np.ndarray:
    """Mean |clip - reference| / 255 of each (horizon, H, W, 3) uint8 clip."""
    ref = reference.astype(np.float32)
    return np.array([np.abs(c.astype(np.float32) - ref).mean() / 255 for c in clips])


def truth_surprises(case: Case, clips: list[np.ndarray]) -> np.ndarray:
    """Residual of each clip against the simulator re-run from the case's seed and actions."""
    env = case_env(case)
    try:
        frames, _ = replay(env, case)
    finally:
        env.close()
    return _pixel_error(clips, frames[case.context :])


def world_model(model) -> WorldModel | None:
    """The `WorldModel` behind `model` (itself or a DiTPredictor's), or None."""
    module = getattr(model, "module", model)
    return module if isinstance(module, WorldModel) else None


@torch.no_grad()
def flow_surprises(module: WorldModel, case: Case, clips: list[np.ndarray]) -> np.ndarray:
    """Mean rectified-flow loss of each clip over LEVELS x SEEDS, context latents clean.

    The VAE encodes 1 + tf k frames: the latest such run of context frames, then the clip cut to
    whole latent frames (h // tf of them); NaN when the horizon is shorter than one latent frame.
    """
    tf = module.latent_info.time_factor
    used = 1 + (case.context - 1) // tf * tf  # context frames encoded
    offset, keep = case.context - used, case.horizon // tf * tf
    if keep == 0:
        return np.full(len(clips), np.nan)
    ctx = case.frames[offset : case.context]
    video = np.stack([np.concatenate([ctx, c[:keep]]) for c in clips])  # (N, used + keep, H, W, 3)
    device = module.device
    z = module.normalise(encode_video(module.autoencoder(), to_model_frames(video).to(device)))
    n, latent_frames = z.shape[:2]  # z: (N, L, c, h, w)
    draws = [(level, seed) for level in LEVELS for seed in SEEDS]  # one batch row per draw and clip
    x0 = repeat(z, "n ... -> (k n) ...", k=len(draws))
    noise = torch.stack(
        [torch.randn(z.shape[1:], generator=torch.Generator().manual_seed(s)) for _, s in draws]
    ).to(z)  # (K, L, c, h, w): the same noise for every clip
    noise = repeat(noise, "k ... -> (k n) ...", n=n)
    levels = torch.zeros(len(draws) * n, latent_frames, device=device)
    levels[:, 1 + (used - 1) // tf :] = repeat(
        torch.tensor([level for level, _ in draws], device=device), "k -> (k n) 1", n=n
    )  # context latent frames stay clean
    span = torch.from_numpy(case.actions[offset : case.context + keep]).float()  # (T, A)
    acts = module.latent_actions(repeat(span, "t a -> b t a", b=len(x0)), latent_frames)
    text = module.encode_text([case.prompt] * len(x0))
    clock = module.clock([offset] * len(x0), latent_frames)  # a case starts at its reset, step 0
    pred = module.model(noisy(x0, noise, levels), levels, acts, text, clock=clock)
    target = velocity_target(x0, noise)
    loss = [
        float(flow_loss(pred[i : i + 1], target[i : i + 1], levels[i : i + 1]))
        for i in range(len(x0))
    ]
    return rearrange(np.array(loss), "(k n) -> k n", n=n).mean(0)


def model_surprises(model, case: Case, clips: list[np.ndarray], device: str = "cpu") -> np.ndarray:
    """Surprise of each clip to `model`: flow loss for a world model, else prediction error."""
    module = world_model(model)
    if module is not None:
        return flow_surprises(module, case, clips)
    pred = predict_window(model, [case], case.context, case.horizon, device)[0]
    return _pixel_error(clips, pred)


def pair_score(possible: float, impossible: float) -> float:
    """1 when the impossible clip is the more surprising, 0.5 on a tie, 0 otherwise; NaN when a
    surprise is undefined."""
    if not (np.isfinite(possible) and np.isfinite(impossible)):
        return float("nan")
    return 1.0 if impossible > possible else 0.5 if impossible == possible else 0.0


def pair_scores(surprises: Surprises, case: Case, pairs: list[VoEPair]) -> list[float]:
    """`pair_score` of each of the case's pairs (one `surprises` call for all clips)."""
    if not pairs:
        return []
    s = surprises(case, [clip for p in pairs for clip in (p.possible, p.impossible)])
    return [pair_score(a, b) for a, b in zip(s[0::2], s[1::2])]


def case_accuracy(surprises: Surprises, case: Case, pairs: list[VoEPair]) -> float:
    """Mean pair score over the case's pairs; NaN without pairs."""
    return float(nanmean(pair_scores(surprises, case, pairs)))
