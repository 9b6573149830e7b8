"""Spec of the training progress bar (worldsim/training/progress.py)."""

from __future__ import annotations

import io
import time
from types import SimpleNamespace

from lightning.pytorch.callbacks import Timer
from tqdm import tqdm

from worldsim.training.progress import StepProgress


def test_a_time_limited_run_never_draws_its_step_limit_as_the_total():
    """A 2.5-minute run of at most 3,000 steps, 1 step done in 3 s: the first drawn bar shows
    the ~50 steps the time allows, not '1/3000' with a 2.5-hour ETA."""
    timer = Timer(duration="00:00:02:30")
    timer.time_remaining = lambda *a: 147.0
    trainer = SimpleNamespace(
        global_step=1, max_steps=3000, callbacks=[timer], log_every_n_steps=50,
        callback_metrics={},
    )  # fmt: skip
    progress, drawn = StepProgress("train"), io.StringIO()
    progress.bar = tqdm(total=3000, file=drawn, mininterval=0)
    progress.started = (time.monotonic() - 3.0, 0)
    progress.on_train_batch_end(trainer, None, None, None, 0)
    assert 40 <= progress.bar.total <= 60
    assert "/3000" not in drawn.getvalue().split("\r")[-1]
