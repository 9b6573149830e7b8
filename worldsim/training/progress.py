"""The one progress bar of a training run: global steps out of `max_steps`, the loss, and an ETA
that also honours the wall-clock limit (`max_minutes`), whichever ends the run first.

It replaces Lightning's bars (an epoch bar that reads "Epoch 5/-2" on step-based runs, and a
second bar per validation); validation runs under it.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ProgressBar, Timer
from tqdm import tqdm

from worldsim.progress_bar import progress_bar

RATE_SECONDS = 5.0  # a time-limited run's bar opens once its rate is read over this long
# a time-limited run's total moves only when the clock's count of steps leaves it by more than
# this share: re-read at every draw it wobbled (287, 285, 289 steps) with the rate's noise
TOTAL_TOLERANCE = 0.02


class StepProgress(ProgressBar):
    """A tqdm bar over optimiser steps, named after the job, on rank 0 only."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.enabled = True
        self.bar: tqdm | None = None
        self.waiting = False  # a time-limited run's bar, opened once its rate is read
        self.started = (0.0, 0)  # (monotonic time, global step) the bar's rate counts from
        self.first_step_done = False  # a time-limited run's rate counts from its second step

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def print(self, *args: Any, **kwargs: Any) -> None:
        (tqdm.write if self.bar is not None else print)(" ".join(map(str, args)), **kwargs)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not (self.enabled and trainer.is_global_zero):
            return
        params = sum(p.numel() for p in pl_module.parameters())
        trained = sum(p.numel() for p in pl_module.parameters() if p.requires_grad)
        # some frozen (LPIPS' trunk, a decoder_only VAE's encoder): say what trains
        count = f"{params / 1e6:.2f}M parameters"
        if trained < params:
            count += f" ({trained / 1e6:.2f}M trained)"
        limit = f"{trainer.max_steps} steps" if trainer.max_steps > 0 else "no step limit"
        timer = self._timer(trainer)
        if timer is not None:
            limit += f" or {timer.time_remaining() / 60:.1f} min"
        # the logger's own dir: `trainer.log_dir` broadcasts from rank 0, which would wait forever
        # for ranks that never run this callback (a deadlock under DDP)
        logger = trainer.logger
        logs = (logger.log_dir if logger is not None else None) or trainer.default_root_dir
        ranks = f"; {trainer.world_size} processes" if trainer.world_size > 1 else ""
        print(
            f"{self.name}: {count}; {limit}{ranks}; logs -> {logs}",
            flush=True,
        )
        self.started = (time.monotonic(), trainer.global_step)
        self.waiting, self.first_step_done = True, False
        if timer is None:  # with a time limit the total is known once the rate is read
            self._open(trainer.max_steps if trainer.max_steps > 0 else None)

    def _open(self, total: int | None, late: bool = False) -> None:
        """The bar, counting from `self.started`; `late` (a time-limited run's, opened once its
        rate is read): its first line is drawn at the next update, with that rate and elapsed
        time, not the '?' of a bar drawn as it opens."""
        self.waiting = False
        start_time, start_step = self.started
        self.bar = progress_bar(
            total=total,
            initial=start_step,
            delay=0.1 if late else 0,
            desc=self.name,
            unit="step",
            dynamic_ncols=True,
            mininterval=1.0,
            # the run's average rate, not tqdm's recent one: the total of a time-limited run is
            # sized by the average, so with it the ETA is the time left (a recent rate slowed by
            # other work put it past the limit: 43 min left of a 45-min run at minute 27)
            smoothing=0,
            file=sys.stderr,
        )
        self.bar.start_t -= time.monotonic() - start_time  # tqdm's clock: elapsed since started

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        if self.bar is None and not self.waiting:
            return  # no bar: disabled, or a rank that draws none
        if self.waiting and not self.first_step_done:
            # the clock's rate starts after the first step, which also starts the loader's
            # workers and compiles: counted in, it sized a 2-min run's total 217 steps, not 296
            self.started, self.first_step_done = (time.monotonic(), trainer.global_step), True
            return
        if self.waiting and time.monotonic() - self.started[0] < RATE_SECONDS:
            return  # one step's rate is noise: a VAE's first line read 1/4241 for 1,095 steps
        total = self._total_by_time(trainer)
        if self.bar is None:  # a time-limited run's rate is read: its first line shows the steps
            # the clock allows, not a max_steps it will cut (0/100000, 4/282)
            self._open(total, late=True)
        elif total is not None and abs(total - (self.bar.total or 0)) > TOTAL_TOLERANCE * total:
            self.bar.total = total  # first: the update draws the bar with its total
        self.bar.update(trainer.global_step - self.bar.n)
        if trainer.global_step % max(trainer.log_every_n_steps, 1):
            return  # reading the loss waits for the GPU: only at the logging interval
        # every training metric (the loss; flow.dmd's fake-score loss and score gap beside it)
        shown = {
            k.removeprefix("train/"): f"{float(v):.4g}"
            for k, v in trainer.callback_metrics.items()
            if k.startswith("train/")
        }
        if shown:
            self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.waiting:  # a time-limited run that ended before its rate was read drew no bar
            print(f"{self.name}: {trainer.global_step} steps (the time limit came first)")
            self.waiting = False
        if self.bar is None:
            return
        self.bar.update(trainer.global_step - self.bar.n)
        self.bar.total = self.bar.n  # a run ended by its time limit still ends at 100 %
        self.bar.close()
        self.bar = None

    @staticmethod
    def _timer(trainer: Trainer) -> Timer | None:
        """Lightning's Timer callback, present when the run has a wall-clock limit."""
        return next((c for c in trainer.callbacks if isinstance(c, Timer)), None)

    def _total_by_time(self, trainer: Trainer) -> int | None:
        """The bar's total: the steps the time limit leaves at the current rate, when earlier than
        max_steps (so the ETA is the earlier of the two ends); None without a time limit or a
        step done."""
        timer = self._timer(trainer)
        start_time, start_step = self.started
        done, elapsed = trainer.global_step - start_step, time.monotonic() - start_time
        if timer is None or done < 1 or elapsed <= 0:
            return None
        by_time = trainer.global_step + int(done / elapsed * (timer.time_remaining() or 0.0)) + 1
        return min(trainer.max_steps, by_time) if trainer.max_steps > 0 else by_time
