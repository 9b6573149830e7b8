"""Control: does generated video follow the conditioning actions?

An inverse dynamics model reads the action before each generated frame (from the previous
frame, the last true context frame for the first one); action score = 1 - MSE / Var (the share
of the true actions' variance it recovers; 1 perfect, 0 as good as predicting the mean).
Delta-PSNR = PSNR of the rollout under the true actions minus under shuffled actions.
"""

from __future__ import annotations

import numpy as np

from evals.corruptions import ALL_CORRUPTIONS
from evals.fidelity import frame_scores
from evals.generate import autoregressive, shuffled_actions
from evals.suite import SuiteContext, average

NAME = "control"
PRIMARY = "action_score"
HIGHER_IS_BETTER = True
# the steered object still follows its actions under another gravity
DETECTS = tuple(c for c in ALL_CORRUPTIONS if c != "gravity")
TRUTH = ()  # truth the cases must hold (eval checks it before any rollout)
MIN_ACTION_VARIANCE = 1e-6  # below this the actions carry no information


def action_errors(idm, case, pred: np.ndarray) -> np.ndarray:
    """Squared error per horizon frame (summed over action dims) of the IDM's reading of `pred`."""
    video = np.concatenate([case.frames[case.context - 1 : case.context], pred])
    read = idm.read_actions(video)  # (horizon, A)
    return ((read - case.actions[case.context :]) ** 2).sum(-1)


def evaluate(model, cases, preds, ctx: SuiteContext) -> dict:
    """Action score and delta-PSNR; needs `ctx.idm` (see `worldsim.models.idm`)."""
    if ctx.idm is None:
        raise ValueError(
            "the control suite needs an inverse dynamics model: pass idm=PATH or let "
            "`worldsim eval` train one (idm_train_episodes > 0)"
        )
    future = np.concatenate([c.actions[c.context :] for c in cases])
    variance = float(((future - future.mean(0)) ** 2).sum(-1).mean())
    if variance < MIN_ACTION_VARIANCE:
        nan = float("nan")
        empty = {
            "metrics": {"action_score": nan, "delta_psnr": nan},
            "curves": {"action_score": [nan] * cases[0].horizon},
        }
        return {
            **average([empty]),
            "notes": [
                f"control not applicable: the actions of env {cases[0].meta.get('env_id')} are "
                "constant (nothing to recover); use an env with actions, e.g. env=push"
            ],
        }
    shuffled = autoregressive(
        model, cases, ctx.batch_size, ctx.device, actions=shuffled_actions(cases)
    )
    per_case = []
    for case, pred, other in zip(cases, preds, shuffled):
        err = action_errors(ctx.idm, case, pred)
        d_psnr = frame_scores(pred, case.future)["psnr"] - frame_scores(other, case.future)["psnr"]
        per_case.append(
            {
                "metrics": {
                    "action_score": 1 - float(err.mean()) / variance,
                    "delta_psnr": float(d_psnr.mean()),
                },
                "curves": {"action_score": (1 - err / variance).tolist()},
            }
        )
    return average(per_case)
