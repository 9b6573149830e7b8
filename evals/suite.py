"""The eval contracts: what a model, an oracle and a suite provide; what every suite gets and
returns, and the averaging of per-case scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from evals.scenarios import Case


@runtime_checkable
class VideoModel(Protocol):
    """Maps (context frames, actions, prompts) to future frames: the model under test (see
    `worldsim.predictor.DiTPredictor`) and every calibration baseline."""

    def predict(
        self, context: torch.Tensor, actions: torch.Tensor, prompts: list[str], horizon: int
    ) -> torch.Tensor:
        """context (B, Tc, C, H, W) in [-1, 1], actions (B, Tc + horizon, A)
        -> (B, horizon, C, H, W) in [-1, 1]."""
        ...


@runtime_checkable
class Oracle(VideoModel, Protocol):
    """A baseline that replays (possibly edited) truth, so it is told which window comes next."""

    def reveal(self, cases: list[Case], start: int, horizon: int) -> None:
        """Called before `predict` with frames [start, start + horizon) of each case to predict."""
        ...


@runtime_checkable
class Clocked(VideoModel, Protocol):
    """A model told the env step of its context's first frame (`DiTPredictor`: a world model
    told the game clock counts its frames' steps on from it)."""

    def at_step(self, first_steps: list[int]) -> None:
        """Called before `predict` with the env step of each row's first context frame."""
        ...


@dataclass
class SuiteContext:
    """Shared resources of one eval run: device, batching, optional LPIPS net and IDM."""

    device: str = "cpu"
    batch_size: int = 4
    lpips: Any = None  # worldsim.models.lpips.LPIPS, or None when unavailable
    lpips_unavailable: str = ""  # why LPIPS is None
    idm: Any = None  # worldsim.models.idm.InverseDynamics for the control suite
    extras: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Suite(Protocol):
    """One eval suite. Each is a module (evals/fidelity.py, ...) whose globals provide this."""

    NAME: str  # key of the suite in the report
    PRIMARY: str  # the metric the report ranks rows by
    HIGHER_IS_BETTER: bool  # direction of PRIMARY
    DETECTS: tuple[str, ...]  # corruptions (evals/corruptions.py) that must lower PRIMARY
    TRUTH: tuple[str, ...]  # truth keys the cases must hold (depth, instance, ...)

    def evaluate(
        self, model: VideoModel, cases: list[Case], preds: list[np.ndarray], ctx: SuiteContext
    ) -> dict[str, Any]:
        """{metrics: {name: float}, curves: {name: [per horizon step]}, notes?: [str]} of a model,
        given its autoregressive predictions `preds` (each (horizon, H, W, 3) uint8)."""
        ...


def average(per_case: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over cases of scalar metrics and, elementwise, of per-horizon curves (NaN: not
    applicable)."""
    out: dict[str, Any] = {"metrics": {}, "curves": {}}
    for key in per_case[0]["metrics"]:
        value = float(nanmean([c["metrics"][key] for c in per_case]))
        out["metrics"][key] = value if np.isfinite(value) else None
    for key in per_case[0].get("curves", {}):
        curve = nanmean([c["curves"][key] for c in per_case], axis=0)  # (horizon,)
        out["curves"][key] = [None if not np.isfinite(v) else float(v) for v in curve]
    return out


def rank_ok(scores: dict[str, float | None], higher_is_better: bool) -> bool | None:
    """noise < copy_last <= ground_truth in the suite's direction; None (n/a) when a score is."""
    if any(v is None or not np.isfinite(v) for v in scores.values()):
        return None
    s = {k: (v if higher_is_better else -v) for k, v in scores.items()}
    return s["noise"] < s["copy_last"] <= s["ground_truth"] + 1e-9


def nanmean(x, axis=None):
    """Mean ignoring NaNs; NaN (without a warning) where nothing is finite."""
    x = np.asarray(x, np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    with np.errstate(all="ignore"):
        n = np.sum(~np.isnan(x), axis=axis)
        return np.where(n > 0, np.nansum(x, axis=axis) / np.maximum(n, 1), np.nan)


def missing_truth(needs: tuple[str, ...], cases: list[Case]) -> list[str]:
    """The truth keys of `needs` that the cases lack (read off the first case: one env each)."""
    return sorted(set(needs) - set(cases[0].truth))


def require_truth(suite: str, needs: tuple[str, ...], cases: list[Case]) -> None:
    """Refuse cases that lack truth the suite scores against."""
    if missing := missing_truth(needs, cases):
        raise ValueError(
            f"{suite} needs truth {missing}, absent from env {cases[0].meta.get('env_id')}"
        )
