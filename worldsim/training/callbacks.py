"""Training callbacks shared by every LightningModule: EMA of the weights and sample-video logging.

Both are generic. `EMA` averages the parameters of `pl_module.<attr>` (default `model`), swaps the
average in for validation and writes it as the checkpoint's `state_dict` (so
`load_from_checkpoint` gives the EMA weights); the raw training weights travel in the callback's
own state and are restored on resume. `SampleVideos` asks `pl_module.sample_videos(batch)` for
videos on a fixed validation batch and writes them under the run's log dir.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.strategies import FSDPStrategy
from lightning.pytorch.utilities import rank_zero_only

from worldsim.training.loggers import log_video
from worldsim.video import write_video


class EMA(Callback):
    """Exponential moving average of `pl_module.<attr>`'s parameters, used for validation and
    checkpoints."""

    def __init__(self, decay: float = 0.999, warmup: bool = True, attr: str = "model"):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay {decay} must lie in [0, 1); 0.999 is typical")
        self.decay = decay
        self.warmup = (
            warmup  # decay ramps as (1 + n) / (10 + n) so early averages track the weights
        )
        self.attr = attr
        self.num_updates = 0
        self._module: torch.nn.Module | None = None
        self._ema: list[torch.Tensor] = []  # float32 shadows, same order as _params()
        self._live: list[torch.Tensor] = []  # the parameters' data, same order
        self._backup: list[torch.Tensor] | None = (
            None  # training weights while the EMA is swapped in
        )

    def _params(self) -> list[tuple[str, torch.nn.Parameter]]:
        return [(name, p) for name, p in self._module.named_parameters() if p.requires_grad]

    def _target(self, pl_module: LightningModule) -> torch.nn.Module:
        module = getattr(pl_module, self.attr, None)
        if not isinstance(module, torch.nn.Module):
            raise AttributeError(
                f"EMA(attr='{self.attr}') needs pl_module.{self.attr} to be an nn.Module; "
                f"{type(pl_module).__name__} has {type(module).__name__}"
            )
        return module

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.world_size > 1 and isinstance(trainer.strategy, FSDPStrategy):
            raise ValueError(
                f"EMA over FSDP-sharded weights on {trainer.world_size} ranks is not supported: "
                "each rank would average only its own shard and checkpoints keep rank 0's; use "
                "strategy=ddp, or train without EMA (`worldsim train`: train.ema_decay=0)"
            )
        self._module = self._target(pl_module)
        if not self._ema:  # a resumed run already loaded its shadows in on_load_checkpoint
            self._ema = [p.detach().float().clone() for _, p in self._params()]
        else:  # loaded on the CPU; the module is on its training device by now
            self._ema = [e.to(p.device) for e, (_, p) in zip(self._ema, self._params())]
        # the averaged tensors, listed once: the per-step update walks no module tree
        self._live = [p.detach() for _, p in self._params()]

    def current_decay(self) -> float:
        """The decay used at the next update."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))

    @torch.no_grad()
    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        # fused foreach kernels with a host-side weight: no host sync (.float() of fp32 is a no-op)
        live = [p.float() for p in self._live]
        torch._foreach_lerp_(self._ema, live, 1.0 - self.current_decay())
        self.num_updates += 1

    @torch.no_grad()
    def swap_in(self) -> None:
        """Put the EMA weights into the module, keeping the training weights aside."""
        if self._backup is not None or not self._ema:
            return
        params = [p for _, p in self._params()]
        self._backup = [p.detach().clone() for p in params]
        for p, e in zip(params, self._ema):
            p.copy_(e.to(p.dtype))

    @torch.no_grad()
    def swap_out(self) -> None:
        """Restore the training weights after `swap_in`."""
        if self._backup is None:
            return
        for (_, p), b in zip(self._params(), self._backup):
            p.copy_(b)
        self._backup = None

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == "fit":
            self.swap_in()

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.swap_out()

    def _training_weights(self) -> list[torch.Tensor]:
        return self._backup if self._backup is not None else [p.detach() for _, p in self._params()]

    def state_dict(self) -> dict[str, Any]:
        if self._module is None:
            return {"num_updates": self.num_updates}
        names = [name for name, _ in self._params()]
        return {
            "num_updates": self.num_updates,
            "decay": self.decay,
            "ema": dict(zip(names, (e.clone() for e in self._ema))),
            "training": dict(zip(names, (w.clone() for w in self._training_weights()))),
        }

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self._module is None:
            return
        state = checkpoint["state_dict"]
        for (name, p), e in zip(self._params(), self._ema):
            state[f"{self.attr}.{name}"] = e.to(p.dtype)

    @torch.no_grad()
    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state = checkpoint.get("callbacks", {}).get(self.state_key, {})
        if "ema" not in state:
            return  # a checkpoint without EMA state: start the average from the loaded weights
        self._module = self._target(pl_module)
        self.num_updates = state["num_updates"]
        params = dict(self._params())
        for name, w in state[
            "training"
        ].items():  # checkpoint["state_dict"] held the EMA; resume from raw
            params[name].copy_(w)
        self._ema = [
            state["ema"][name].to(params[name].device, torch.float32).clone() for name in params
        ]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.num_updates = state_dict["num_updates"]


class SampleVideos(Callback):
    """Every `every_n_epochs` validations, write `pl_module.sample_videos(batch)` for the first val
    batch."""

    def __init__(
        self, every_n_epochs: int = 1, fps: int = 8, ext: str = "gif", dirname: str = "videos"
    ):
        if ext not in ("gif", "mp4"):
            raise ValueError(f"SampleVideos ext '{ext}' must be 'gif' or 'mp4'")
        self.every_n_epochs = every_n_epochs
        self.fps = fps
        self.ext = ext
        self.dirname = dirname
        self._batch: Any = None
        self.written: list[Path] = []

    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx == 0 and dataloader_idx == 0 and not trainer.sanity_checking:
            self._batch = batch

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if (
            self._batch is None
            or trainer.sanity_checking
            or trainer.current_epoch % self.every_n_epochs
        ):
            return
        with torch.no_grad():
            videos = pl_module.sample_videos(self._batch)  # {name: (T, H, W, 3) uint8}
        root = Path(trainer.log_dir or trainer.default_root_dir) / self.dirname
        root.mkdir(parents=True, exist_ok=True)
        for name, frames in videos.items():
            path = root / f"{name}_step{trainer.global_step:07d}.{self.ext}"
            write_video(path, frames, fps=self.fps)
            log_video(trainer, f"videos/{name}", frames, path, self.fps)  # to TensorBoard/W&B
            self.written.append(path)
        self._batch = None


class LastCheckpoint(Callback):
    """The end of fit (max_steps or max_minutes) and Ctrl-C during it save `<dirpath>/last.ckpt`,
    which a rerun of the command resumes from, whatever the checkpoint interval.

    Ctrl-C (SIGINT) asks the run to stop after the step in progress, and the fit ends there as at
    max_steps; a second Ctrl-C interrupts at once. A flag, not the KeyboardInterrupt that Python
    raises wherever the signal lands: a compiled GPU run went on training past its SIGINT until
    it was killed 60 s later, its last 960 steps lost (2026-12-01). One process only: under DDP
    every rank would have to join the save."""

    def __init__(self, dirpath: str | Path):
        self.dirpath = Path(dirpath)
        self.stop_requested = False
        self.saved_at_end = False  # on_train_end saved for the requested stop
        self._previous: Any = None  # the SIGINT handler before fit, restored after it

    def _request_stop(self, signum: int, frame: Any) -> None:
        if self.stop_requested:  # the second Ctrl-C: at once (on_exception saves)
            raise KeyboardInterrupt
        self.stop_requested = True
        print("\ninterrupt: stopping after this step (again: at once)", file=sys.stderr, flush=True)

    def _restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.stop_requested = self.saved_at_end = False
        if trainer.world_size == 1 and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._request_stop)

    def on_train_batch_end(self, trainer: Trainer, *args: Any) -> None:
        if self.stop_requested:
            trainer.should_stop = True

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._restore()
        trainer.save_checkpoint(self.dirpath / "last.ckpt")  # every rank: a collective save
        if self.stop_requested:  # the command stops here, as at a KeyboardInterrupt
            self.saved_at_end = True
            self._said_saved(trainer)
            raise KeyboardInterrupt

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException):
        self._restore()
        if not isinstance(exception, KeyboardInterrupt) or trainer.world_size != 1:
            return
        if not self.saved_at_end:
            trainer.save_checkpoint(self.dirpath / "last.ckpt")
            self._said_saved(trainer)

    def _said_saved(self, trainer: Trainer) -> None:
        print(
            f"\ninterrupted at step {trainer.global_step}: saved {self.dirpath / 'last.ckpt'}; "
            f"rerun the same command to resume from it{unfinished_schedule(trainer)}",
            file=sys.stderr,
            flush=True,
        )


def unfinished_schedule(trainer: Trainer) -> str:
    """'' unless the run stops with its learning rate between 0 and its peak (in its warm-up, or
    in a cool-down that was meant to end annealed): then a clause that says so, since a run cut
    at a deadline otherwise looks like a finished one (a Crafter run stopped at 25%, 2026-12-02)."""
    groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
    factors = [g["lr"] / g["initial_lr"] for g in groups if g.get("initial_lr")]
    if not factors or not 0 < factors[0] < 1:
        return ""
    return (
        f"; its learning rate is at {factors[0]:.0%} of its peak, and its schedule runs to step "
        f"{trainer.max_steps}"
    )
