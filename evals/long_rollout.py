"""Long autoregressive rollouts against the true episode, block by block: does the video keep the
truth's colours and contrast (evals/stability.py's measures, per frame rather than pooled)?"""

from __future__ import annotations

import numpy as np

from evals.model import to_model_frames
from evals.stability import histogram_distance

CONTRAST_TOLERANCE = 0.2  # a frame keeps its contrast when within 20% of the true frame's


def contrast(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T,) spatial std in model range [-1, 1] (as evals/stability.py)."""
    return to_model_frames(frames[None])[0].flatten(1).std(-1).numpy()


def drift(pred: np.ndarray, true: np.ndarray, every: int = 100) -> dict[str, list[float]]:
    """Per-frame curves and `every`-frame block means of the colour-histogram distance and of the
    share of frames whose contrast is within CONTRAST_TOLERANCE of the truth's."""
    hist = histogram_distance(pred, true)  # (T,)
    ratio = contrast(pred) / np.maximum(contrast(true), 1e-6)
    kept = np.abs(ratio - 1) <= CONTRAST_TOLERANCE
    blocks = range(0, len(hist), every)
    return {
        "block_start": list(blocks),
        "histogram_distance": [float(hist[b : b + every].mean()) for b in blocks],
        "contrast_within_20pct": [float(kept[b : b + every].mean()) for b in blocks],
        "curve_histogram_distance": hist.tolist(),
        "curve_contrast_ratio": ratio.tolist(),
    }


def plot_drift(results: dict[str, dict[str, list[float]]], path: str) -> None:
    """PNG of the per-frame histogram distance and contrast ratio of named `drift` results."""
    import matplotlib.pyplot as plt  # a dev dependency: only this plot needs it

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for name, res in results.items():
        for ax, key in zip(axes, ("curve_histogram_distance", "curve_contrast_ratio")):
            ax.plot(res[key], label=name, lw=0.7)
            ax.set(xlabel="frame", title=key[6:].replace("_", " "))
    axes[1].axhspan(
        1 - CONTRAST_TOLERANCE, 1 + CONTRAST_TOLERANCE, color="grey", alpha=0.2, label="within 20%"
    )
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
