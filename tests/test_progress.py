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


def test_a_time_limited_run_draws_its_first_line_with_the_clocks_total_read_after_its_first_step():
    """Before its first step a 45-minute run of at most 100,000 steps cannot know how many the
    clock allows: its first line showed '0/100000', the next '4/282'. Its first step (workers
    starting, compiling) is slower than the rest, so the rate is read from the second: a first
    step of 30 s, then 3 s a step, sizes the run by the 3 s, once 5 s of steps give the rate. A
    run without a time limit draws its max_steps at once."""
    from torch import nn

    for timer, total in ((Timer(duration="00:00:45:00"), None), (None, 100_000)):
        trainer = SimpleNamespace(
            is_global_zero=True, max_steps=100_000, callbacks=[timer] if timer else [],
            logger=None, default_root_dir="runs/x", world_size=1, global_step=0,
            log_every_n_steps=50, callback_metrics={},
        )  # fmt: skip
        progress = StepProgress("train-vae")
        progress.on_train_start(trainer, nn.Linear(2, 2))
        if timer is None:
            assert progress.bar.total == total
        else:
            assert progress.bar is None  # nothing drawn before the first step
            timer.time_remaining = lambda *a: 2697.0
            progress.started = (time.monotonic() - 30.0, 0)
            trainer.global_step = 1
            progress.on_train_batch_end(trainer, None, None, None, 0)
            assert progress.bar is None  # nor at it: its time is not the run's rate
            progress.started = (progress.started[0] - 3.0, 1)
            trainer.global_step = 2
            progress.on_train_batch_end(trainer, None, None, None, 1)
            assert progress.bar is None  # nor after one step more: a rate over 3 s is noise
            progress.started = (progress.started[0] - 3.0, 1)
            trainer.global_step = 3
            progress.on_train_batch_end(trainer, None, None, None, 2)
            assert 800 <= progress.bar.total <= 1000  # 3 s a step, 2,697 s left
            shown = progress.bar.format_dict  # its line reads the rate since the second step
            assert (shown["initial"], shown["n"]) == (1, 3) and shown["elapsed"] >= 6
        progress.bar.close()


def test_a_time_limited_run_that_ends_before_its_rate_is_read_still_says_its_steps(capsys):
    """A run whose time limit ends it within RATE_SECONDS of its first step never opened its bar:
    its log said nothing of the steps it made."""
    from torch import nn

    trainer = SimpleNamespace(
        is_global_zero=True, max_steps=100_000, callbacks=[Timer(duration="00:00:00:03")],
        logger=None, default_root_dir="runs/x", world_size=1, global_step=0,
    )  # fmt: skip
    progress = StepProgress("train")
    progress.on_train_start(trainer, nn.Linear(2, 2))
    trainer.global_step = 7
    progress.on_train_end(trainer, None)
    assert capsys.readouterr().out.endswith("train: 7 steps (the time limit came first)\n")


def test_a_time_limited_runs_total_holds_still_through_the_rates_noise():
    """Re-read at every draw, the clock's total wobbled (287, 285, 289): it moves only when the
    count leaves it by more than 2%."""
    timer = Timer(duration="00:10:00:00")
    trainer = SimpleNamespace(
        global_step=100, max_steps=100_000, callbacks=[timer], log_every_n_steps=50,
        callback_metrics={},
    )  # fmt: skip
    progress = StepProgress("train")
    progress.bar = tqdm(total=1000, file=io.StringIO(), mininterval=0)
    progress.started = (time.monotonic() - 100.0, 0)  # 1 step a second
    for left, total in ((905.0, 1000), (915.0, 1000), (940.0, 1041)):  # 1,006, 1,016, 1,041
        timer.time_remaining = lambda *a, left=left: left
        progress.on_train_batch_end(trainer, None, None, None, 0)
        assert abs(progress.bar.total - total) <= 1, (left, progress.bar.total)
