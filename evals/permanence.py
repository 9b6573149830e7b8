"""Object permanence: objects read off generated frames by colour vs the same reading of the truth.

Scored per (horizon frame, object): mask IoU, colour match under the true mask, spontaneous
disappearance (truly visible, not generated) and appearance (generated where the object truly
is not: absent, or far from its true mask); reappearance IoU on frames where an object is back
after having been hidden (occluded or out of view) earlier in the episode.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from evals.corruptions import ALL_CORRUPTIONS
from evals.segment import READER_TRUTH, average_read_scores, reader_for
from evals.suite import SuiteContext, nanmean

NAME = "permanence"
PRIMARY = "iou"
HIGHER_IS_BETTER = True
DETECTS = ALL_CORRUPTIONS  # every corruption moves, hides, adds or recolours an object mask
TRUTH = READER_TRUTH  # truth the cases must hold (eval checks it before any rollout)
MIN_AREA = 3  # pixels: smaller readings count as "not there"
DISAPPEAR_FRACTION = 0.25  # generated area below this fraction of the true area = disappeared
NEAR = (
    2  # pixels of dilation around the true mask inside which generated pixels are "the same object"
)


def score_case(case, pred: np.ndarray) -> dict:
    """IoU, colour match, appearance/disappearance rates and reappearance IoU for one case."""
    reader, ctx = reader_for(case), case.context
    ref_all = reader.masks(case.frames)  # (T, N, H, W) the truth, read by the same reader
    ref, gen = ref_all[ctx:], reader.masks(pred)
    area_ref, area_gen = ref.sum((2, 3)), gen.sum((2, 3))  # (horizon, N)
    inter, union = (ref & gen).sum((2, 3)), (ref | gen).sum((2, 3))
    iou = np.where(
        union > 0, inter / np.maximum(union, 1), np.nan
    )  # (horizon, N), NaN: neither shows it
    present = area_ref >= MIN_AREA
    hidden_before = np.maximum.accumulate(ref_all.sum((2, 3)) < MIN_AREA, axis=0)[
        ctx - 1 : -1
    ]  # (horizon, N)
    back = present & hidden_before
    near = ndimage.binary_dilation(ref, np.ones((1, 1, 2 * NEAR + 1, 2 * NEAR + 1), bool))
    stray = (gen & ~near).sum((2, 3)) >= MIN_AREA
    disappeared = present & (area_gen < DISAPPEAR_FRACTION * area_ref)
    appeared = (~present & (area_gen >= MIN_AREA)) | (present & stray)
    true_mask = (
        case.truth["instance"][ctx:, None]
        == np.array([o["id"] for o in case.objects])[None, :, None, None]
    )
    colour_err = []
    for t, n in zip(*np.nonzero(true_mask.any((2, 3)))):
        m = true_mask[t, n]
        colour_err.append(np.abs(pred[t][m].mean(0) - case.future[t][m].mean(0)).mean() / 255)
    return {
        "metrics": {
            "iou": float(nanmean(iou)),
            "reappearance_iou": float(nanmean(iou[back])),
            "colour_match": 1 - float(nanmean(colour_err)),
            "disappearance_rate": (
                float(disappeared.sum() / present.sum()) if present.any() else float("nan")
            ),  # n/a when no object is truly visible in the horizon
            "appearance_rate": float(appeared.mean()),
            "reappearances": float(back.sum()),
        },
        "curves": {"iou": nanmean(iou, axis=1).tolist()},
    }


def evaluate(model, cases, preds, ctx: SuiteContext) -> dict:
    """Average of `score_case` over cases (instance truth calibrates the colour reader)."""
    return average_read_scores(NAME, score_case, cases, preds)
