"""`worldsim train-vae`: train the causal video VAE on an episode store, export its EMA weights.

On a CPU (trainer.accelerator=cpu, or auto without CUDA) the defaults are those of
configs/train/vae_cpu.yaml, seconds a step instead of minutes; files and knobs given override them.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from worldsim.config import CONFIG_DIR, ConfigError
from worldsim.data.episode_data_config import DataConfig
from worldsim.models.autoencoder_config import AutoencoderConfig
from worldsim.training.autoencoder_config import LossConfig, OptimConfig
from worldsim.training.logger_names import check_logger
from worldsim.training.trainer_config import TrainerConfig as BaseTrainerConfig

# knobs that may change when a run continues in its out= (length, hardware, logging, evaluation)
FREE = (
    *("out", "export", "resume", "strict", "overwrite", "eval_episodes", "eval_max_frames"),
    *("logger", "data.num_workers", "trainer.max_steps", "trainer.max_minutes"),
    *("trainer.accelerator", "trainer.devices", "trainer.strategy", "trainer.limit_val_batches"),
    *("trainer.val_every_steps", "trainer.log_every_steps", "trainer.video_every_vals"),
    "trainer.benchmark",
)


@dataclass
class TrainerConfig(BaseTrainerConfig):
    """Lightning Trainer knobs of `worldsim train-vae`."""

    devices: int = 1  # GPUs (or CPU processes) on this host
    limit_val_batches: int = 8
    val_every_steps: int = 1000  # steps between validations and checkpoints
    log_every_steps: int = 50  # steps between logged losses
    benchmark: bool = True  # cudnn autotuning for the fixed clip shapes
    video_every_vals: int = 1  # write reconstruction gifs every n validations (0: never)


@dataclass
class Config:
    """train-vae job: outputs, data, model, loss, optimiser, trainer, held-out evaluation."""

    out: str = "runs/vae"  # Lightning logs and checkpoints
    export: str = ""  # slim EMA checkpoint path (default: <out>/vae.ckpt)
    # checkpoint to resume from: auto = <out>/checkpoints/last.ckpt if a run left one, "" = none,
    # last = that file (must exist), or a path
    resume: str = "auto"
    # start from this VAE's weights: a train-vae export, or a world model bundling one
    # (pretrained:NAME); "" = random. Its shape replaces model.*
    init: str = ""
    # train the decoder alone, from init=: the encoder, and so the latents of every world model
    # trained with it, stay as they were (a sharper decoder for a shipped model)
    decoder_only: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    model: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    eval_episodes: int = 16  # held-out episodes reconstructed after training (at most: the split's)
    eval_max_frames: int = 0  # frames per held-out episode (0: all)
    seed: int = 0  # weights and clip order
    logger: str = "tensorboard"  # tensorboard | csv | wandb: where losses, lr, speed, videos go
    strict: bool = True  # refuse an incomplete or corrupt store (false: warn once, skip them)
    overwrite: bool = False  # start afresh in an out= that another config trained in

    def __post_init__(self) -> None:
        check_logger(self.logger)  # before any work: an unknown or missing logger is one line
        if self.decoder_only and not self.init:
            raise ConfigError(
                "decoder_only=true trains the decoder of an existing VAE: give it as init= "
                "(a VAE checkpoint, or a world model such as pretrained:crafter)"
            )


CPU_SIZES = CONFIG_DIR / "train" / "vae_cpu.yaml"  # the CPU defaults: seconds a step on 2 cores
CPU_WORK = 4 * 9 * 32 * 32 * 32**2  # its clips x frames x pixels x base_channels^2 per step


def _on_cpu(accelerator: str) -> bool:
    return accelerator == "cpu" or (accelerator == "auto" and not _cuda_available())


def _cuda_available() -> bool:
    """torch.cuda.is_available(), answered without importing torch (seconds) on a Linux machine
    without a GPU driver: torch reaches a GPU only through CUDA's libcuda.so.1 or ROCm's /dev/kfd,
    so `--help` and a bad knob stay fast there."""
    if sys.platform.startswith("linux") and not Path("/dev/kfd").exists():
        try:
            ctypes.CDLL("libcuda.so.1")
        except OSError:
            return False
    import torch

    return torch.cuda.is_available()


def cli_args(args: list[str]) -> list[str]:
    """The command line's arguments, after the CPU defaults (CPU_SIZES) when it runs on a CPU."""
    given = [a.split("=", 1)[1] for a in args if a.startswith("trainer.accelerator=")]
    return [str(CPU_SIZES), *args] if _on_cpu(given[-1] if given else "auto") else args


def _say_cpu_cost(cfg: Config, store) -> None:
    """On the CPU, say before training when the knobs given make a step take minutes."""
    if not _on_cpu(cfg.trainer.accelerator) or not store.names():
        return
    entry, frames = store.entry(store.names()[0]), max(cfg.data.clips.lengths)
    pixels = entry.height * entry.width
    work = cfg.data.batch_size * frames * pixels * cfg.model.base_channels**2 / CPU_WORK
    if work > 10:
        print(
            f"train-vae: on the CPU a step of {cfg.data.batch_size} clips x {frames} frames at "
            f"{entry.height}x{entry.width} through model.base_channels={cfg.model.base_channels} "
            f"is {work:.0f}x the work of the CPU defaults ({CPU_SIZES}, seconds a step on 2 "
            "cores): minutes a step; drop the size knobs given to train at the CPU defaults",
            flush=True,
        )


def _check_clip_lengths(cfg: Config) -> None:
    bad = [n for n in cfg.data.clips.lengths if (n - 1) % cfg.model.time_factor]
    if bad:
        raise ConfigError(
            f"data.clips.lengths {bad} are not 1 + {cfg.model.time_factor}k frames; use e.g. [17]"
        )


def _take_object_truth(cfg: Config, store) -> None:
    """With loss.object_weight > 0 the batches carry the truth's instance maps (the loss weighs
    their objects' pixels): add them to data.clips.truth_keys, or refuse a store whose episodes
    lack them before out= is written (training would stop at the first such clip)."""
    if cfg.loss.object_weight <= 0:
        return
    lacking = [n for n in store.names() if "instance" not in store.load(n).truth]
    if lacking:
        roots = ", ".join(cfg.data.roots or [cfg.data.root])
        raise ConfigError(
            f"loss.object_weight={cfg.loss.object_weight} weighs the pixels that truth 'instance' "
            f"marks as objects, but {len(lacking)} of {len(store.names())} episodes in {roots} "
            f"lack that truth ({lacking[0]}); train on a store recorded with it (crafter, doom "
            "and the MuJoCo envs record it) or leave loss.object_weight=0"
        )
    if "instance" not in cfg.data.clips.truth_keys:
        cfg.data.clips.truth_keys = [*cfg.data.clips.truth_keys, "instance"]


def _adopt_init_shape(cfg: Config):
    """The VAE of init= (None without one); its shape becomes cfg.model's, said when it differs
    from the one configured (e.g. the CPU defaults' narrower norm_groups)."""
    if not cfg.init:
        return None
    from dataclasses import asdict, replace

    from worldsim.models.autoencoder import load_autoencoder
    from worldsim.models.autoencoder_config import CHUNKING

    init = load_autoencoder(cfg.init)
    shape = replace(init.cfg, **{k: getattr(cfg.model, k) for k in CHUNKING})  # configured ones
    given, taken = asdict(cfg.model), asdict(shape)
    differ = [f"model.{k}={taken[k]} (not {given[k]})" for k in given if given[k] != taken[k]]
    if differ:
        print(f"train-vae: the VAE's shape is init's: {', '.join(differ)}", flush=True)
    cfg.model = shape
    return init


def _fit(cfg: Config, task, ema, data):
    """Train `task` on the set-up datamodule `data` (resuming when asked); returns the
    Trainer."""
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint

    from worldsim.training.callbacks import SampleVideos
    from worldsim.training.trainer import lightning_trainer, resume_checkpoint

    out = Path(cfg.out)
    callbacks = [
        ema,
        ModelCheckpoint(
            dirpath=out / "checkpoints",
            save_last=True,
            every_n_train_steps=cfg.trainer.val_every_steps,
            # a resumed run keeps writing last.ckpt, though Ctrl-C or the end of the run wrote it
            # (Lightning's default writes last-v1.ckpt beside it: resume=auto took the stale one)
            enable_version_counter=False,
        ),
        LearningRateMonitor("step"),  # warm-up schedulers step per optimiser step
    ]
    if cfg.trainer.video_every_vals:
        callbacks.append(SampleVideos(every_n_epochs=1, ext="gif"))
    trainer = lightning_trainer(
        cfg.trainer,
        out,
        callbacks,
        cfg.logger,
        name="train-vae",
        devices=cfg.trainer.devices,
        val_check_interval=cfg.trainer.val_every_steps,
        log_every_n_steps=cfg.trainer.log_every_steps,
        enable_model_summary=False,
        benchmark=cfg.trainer.benchmark,
    )
    resume = resume_checkpoint(out, cfg.resume)
    if resume:
        print(f"train-vae: resuming from {resume}", flush=True)
    trainer.fit(task, datamodule=data, ckpt_path=resume)
    return trainer


def _evaluate_held_out(cfg: Config, model, export: Path, steps: int, device) -> None:
    """Reconstruct whole held-out episodes; write <out>/eval.json and print the scores."""
    from worldsim.data.clips import split_of
    from worldsim.data.store import open_stores
    from worldsim.training.autoencoder import evaluate_reconstruction

    store = open_stores(cfg.data)  # named as in training, so the split is the same
    store.check(cfg.strict)
    held_out = [
        n for n in store.names() if split_of(n, cfg.data.val_fraction, cfg.data.seed) == "val"
    ]
    if not held_out:
        print(
            f"train-vae: no held-out episodes (data.val_fraction={cfg.data.val_fraction}); "
            "skipping evaluation"
        )
        return
    held_out = held_out[: cfg.eval_episodes]
    metrics = evaluate_reconstruction(model, store, held_out, cfg.eval_max_frames, device=device)
    metrics.update(steps=steps, checkpoint=str(export))
    (Path(cfg.out) / "eval.json").write_text(json.dumps(metrics, indent=1))
    n, k = metrics["episodes"], metrics.get("object_episodes", 0)
    objects = ""
    if k:  # the truth's instance maps mark objects: the PSNR of their pixels alone
        objects = f", objects' pixels {metrics['object_psnr']:.2f} dB"
        objects += f" (in the {k} with objects)" if k < n else ""
    print(
        f"train-vae: {steps} steps; held-out {n} episode{'s' * (n != 1)} "
        f"({metrics['frames']} frames): PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.4f}"
        f"{objects}; EMA weights -> {export}"
    )


def run(cfg: Config) -> None:
    import warnings

    from worldsim.jobs.pipeline import claim_output, refuse_data_dir
    from worldsim.models.pretrained import require_autoencoder

    refuse_data_dir("train-vae", cfg.out)
    _check_clip_lengths(cfg)
    if cfg.init:
        require_autoencoder(cfg.init)  # before the imports below load torch (seconds)
    from worldsim.data.store import open_stores
    from worldsim.training.trainer_config import check_accelerator

    check_accelerator("trainer.accelerator", cfg.trainer.accelerator)  # before the data
    store = open_stores(cfg.data)  # the data's refusals before torch loads (seconds)
    store.check(cfg.strict)
    _take_object_truth(cfg, store)
    import lightning as L
    import torch

    from worldsim.data.datamodule import EpisodeDataModule
    from worldsim.data.manifest import manifest_sha256
    from worldsim.models.autoencoder import save_autoencoder
    from worldsim.training.autoencoder import VAETask
    from worldsim.training.callbacks import EMA
    from worldsim.training.trainer import resume_checkpoint

    _say_cpu_cost(cfg, store)
    resume_checkpoint(cfg.out, cfg.resume)  # a bad resume= is named before anything is written
    warnings.filterwarnings("ignore", message=".*ModelCheckpoint with manual optimization.*")
    L.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")
    init = _adopt_init_shape(cfg)  # a bad init= is named before out=
    task = VAETask(cfg.model, cfg.loss, cfg.optim, cfg.decoder_only)  # missing LPIPS weights too
    if init is not None:
        task.model.load_state_dict(init.state_dict())
    ema = EMA(decay=cfg.trainer.ema_decay)
    data = EpisodeDataModule(cfg.data)
    data.setup("fit")  # episodes too short for every clip length are refused before out= is claimed
    roots = cfg.data.roots or [cfg.data.root]
    if claim_output("train-vae", cfg, FREE, {"data_manifest_sha256": manifest_sha256(roots)}):
        # another config's (or data's) run: start afresh
        shutil.rmtree(Path(cfg.out) / "checkpoints", ignore_errors=True)
    trainer = _fit(cfg, task, ema, data)
    if trainer.global_rank != 0:
        return
    ema.swap_in()
    model = task.model.float().eval()
    export = Path(cfg.export or Path(cfg.out) / "vae.ckpt")
    meta = {"steps": trainer.global_step, "data": roots, "init": cfg.init}
    save_autoencoder(model, export, meta={**meta, "decoder_only": cfg.decoder_only})
    _evaluate_held_out(cfg, model, export, trainer.global_step, task.device)
