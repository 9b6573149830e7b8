"""Run a model over cases: autoregressive, teacher-forced and shuffled-action generations."""

from __future__ import annotations

import numpy as np
import torch

from evals.model import from_model_frames, to_model_frames
from evals.scenarios import Case
from evals.suite import Clocked, Oracle, VideoModel


@torch.no_grad()
def predict_window(
    model: VideoModel,
    cases: list[Case],
    start: int,
    horizon: int,
    device: str = "cpu",
    actions: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Frames [start, start + horizon) of each case from its `context` frames before `start`.

    Returns (B, horizon, H, W, 3) uint8. `actions` replaces the cases' own action sequences.
    """
    ctx = cases[0].context
    frames = to_model_frames(np.stack([c.frames[start - ctx : start] for c in cases])).to(device)
    acts = np.stack(
        [a[start - ctx : start + horizon] for a in (actions or [c.actions for c in cases])]
    )
    if isinstance(model, Oracle):
        model.reveal(cases, start, horizon)
    if isinstance(model, Clocked):  # a case's frames start at its episode's reset, step 0
        model.at_step([start - ctx] * len(cases))
    out = model.predict(
        frames, torch.from_numpy(acts).float().to(device), [c.prompt for c in cases], horizon
    )
    if tuple(out.shape) != (len(cases), horizon, *frames.shape[2:]):
        raise ValueError(
            f"model returned {tuple(out.shape)}, expected "
            f"{(len(cases), horizon, *frames.shape[2:])} "
            "(B, horizon, C, H, W)"
        )
    return from_model_frames(out)


def autoregressive(
    model: VideoModel,
    cases: list[Case],
    batch_size: int = 4,
    device: str = "cpu",
    actions: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Each case's whole horizon from its context: list of (horizon, H, W, 3) uint8."""
    out = []
    for i in range(0, len(cases), batch_size):
        batch = cases[i : i + batch_size]
        acts = actions[i : i + batch_size] if actions is not None else None
        out.extend(predict_window(model, batch, batch[0].context, batch[0].horizon, device, acts))
    return out


def teacher_forced(
    model: VideoModel, cases: list[Case], batch_size: int = 4, device: str = "cpu"
) -> list[np.ndarray]:
    """Each horizon frame predicted one step ahead from the true frames before it."""
    out = []
    for batch in (cases[i : i + batch_size] for i in range(0, len(cases), batch_size)):
        ctx, total = batch[0].context, batch[0].frames.shape[0]
        steps = [predict_window(model, batch, t, 1, device) for t in range(ctx, total)]
        out.extend(np.concatenate(steps, axis=1))
    return out


def shuffled_actions(cases: list[Case]) -> list[np.ndarray]:
    """Each case's future actions taken from the next case (time-reversed when there is one
    case)."""
    out = []
    for i, case in enumerate(cases):
        donor = cases[(i + 1) % len(cases)].actions if len(cases) > 1 else case.actions[::-1]
        out.append(np.concatenate([case.actions[: case.context], donor[case.context :]]))
    return out
