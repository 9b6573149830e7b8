"""Reading objects off video by their colours, calibrated on the true frames' instance maps.

Each object's chromaticity (rgb / (r + g + b), shading-invariant) is learned from its true
pixels; a pixel of any video belongs to the object whose chromaticity is nearest, within
`tolerance`, if it is bright enough. The same reader is applied to generated and true frames,
so ground truth reads back exactly and the reader's own errors cancel in the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from evals.suite import average, require_truth

MIN_BRIGHTNESS = 60  # r + g + b below this has unreliable chromaticity


def chroma(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., 3) uint8 -> chromaticity (..., 3) and brightness r + g + b (...)."""
    f = frames.astype(np.float32)
    s = f.sum(-1)
    return f / np.maximum(s, 1)[..., None], s


@dataclass
class ColourReader:
    """Per-object reference chromaticities; `masks` segments any video with them."""

    ids: list[int]
    colours: np.ndarray  # (N, 3) mean chromaticity of each object's true pixels
    tolerance: float = 0.08

    @classmethod
    def fit(
        cls, frames: np.ndarray, instance: np.ndarray, ids: list[int], tolerance: float = 0.08
    ) -> ColourReader:
        """Learn each object's chromaticity from true frames (T, H, W, 3) and instance maps (T, H,
        W)."""
        c, s = chroma(frames)
        colours = []
        for i in ids:
            sel = (instance == i) & (s >= MIN_BRIGHTNESS)
            colours.append(np.median(c[sel], 0) if sel.any() else np.full(3, np.nan))
        return cls(ids=list(ids), colours=np.asarray(colours, np.float32), tolerance=tolerance)

    def masks(self, frames: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 -> (T, N, H, W) bool, opened to drop isolated pixels."""
        c, s = chroma(frames)
        dist = np.linalg.norm(
            c[:, None] - self.colours[None, :, None, None], axis=-1
        )  # (T, N, H, W)
        dist = np.where(np.isnan(dist), np.inf, dist)
        nearest = dist.argmin(1)
        out = np.zeros(dist.shape, bool)
        for n in range(len(self.ids)):
            out[:, n] = (nearest == n) & (dist[:, n] < self.tolerance) & (s >= MIN_BRIGHTNESS)
        structure = np.zeros((1, 1, 3, 3), bool)
        structure[0, 0, 1, :] = structure[0, 0, :, 1] = True  # 4-neighbourhood cross, per frame
        return ndimage.binary_opening(out, structure=structure)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a 2D mask."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n <= 1:
        return mask
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    return labels == (1 + int(np.argmax(sizes)))


def reader_for(case) -> ColourReader:
    """A colour reader fitted to a case's true frames and instance maps."""
    return ColourReader.fit(case.frames, case.truth["instance"], [o["id"] for o in case.objects])


READER_TRUTH = ("instance",)  # what the colour reader is fitted to: the suites reading it need it


def average_read_scores(suite: str, score_case, cases, preds) -> dict:
    """Average of `score_case(case, pred)` over cases; refuses envs without the instance truth
    that calibrates the colour reader."""
    require_truth(suite, READER_TRUTH, cases)
    return average([score_case(c, p) for c, p in zip(cases, preds)])
