"""`worldsim train-vae`: train the causal video VAE on an episode store, export its EMA weights."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from worldsim.data.datamodule import DataConfig
from worldsim.models.autoencoder import AutoencoderConfig
from worldsim.training.autoencoder import LossConfig, OptimConfig


@dataclass
class TrainerConfig:
    """Lightning Trainer knobs."""

    max_steps: int = 20000
    max_minutes: float = 0.0  # wall-clock cap on fitting (0: none)
    precision: str = "bf16-mixed"  # 32 on CPU
    accelerator: str = "auto"
    devices: int = 1
    strategy: str = "auto"  # ddp / fsdp for several GPUs
    val_every_steps: int = 1000
    limit_val_batches: int = 8
    log_every_steps: int = 50
    ema_decay: float = 0.999
    benchmark: bool = True  # cudnn autotuning for the fixed clip shapes
    video_every_vals: int = 1  # write reconstruction gifs every n validations (0: never)


@dataclass
class Config:
    """train-vae job: data, model, loss, optimiser, trainer, outputs."""

    data: DataConfig = field(default_factory=DataConfig)
    model: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    out: str = "runs/vae"  # Lightning logs and checkpoints
    export: str = ""  # slim EMA checkpoint path (default: <out>/vae.ckpt)
    resume: str = ""  # Lightning checkpoint to resume from ("last": <out>/checkpoints/last.ckpt)
    eval_episodes: int = 16  # held-out episodes reconstructed whole (chunked) after training
    eval_max_frames: int = 0  # frames per held-out episode (0: all)
    seed: int = 0


def run(cfg: Config) -> None:
    import warnings

    import lightning as L
    import torch
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from worldsim.data.clips import split_of
    from worldsim.data.datamodule import EpisodeDataModule, EpisodeStores
    from worldsim.models.autoencoder import save_autoencoder
    from worldsim.training.autoencoder import VAETask, evaluate_reconstruction
    from worldsim.training.callbacks import EMA, SampleVideos

    bad = [n for n in cfg.data.clips.lengths if (n - 1) % cfg.model.time_factor]
    if bad:
        raise ValueError(
            f"data.clips.lengths {bad} are not 1 + {cfg.model.time_factor}k frames; use e.g. [17]"
        )
    warnings.filterwarnings("ignore", message=".*ModelCheckpoint with manual optimization.*")
    L.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")
    out = Path(cfg.out)
    data = EpisodeDataModule(cfg.data)
    task = VAETask(cfg.model, cfg.loss, cfg.optim)
    ema = EMA(decay=cfg.trainer.ema_decay)
    callbacks = [
        ema,
        ModelCheckpoint(
            dirpath=out / "checkpoints",
            save_last=True,
            every_n_train_steps=cfg.trainer.val_every_steps,
        ),
        LearningRateMonitor(),
    ]
    if cfg.trainer.video_every_vals:
        callbacks.append(SampleVideos(every_n_epochs=1, ext="gif"))
    trainer = L.Trainer(
        max_steps=cfg.trainer.max_steps,
        max_time={"minutes": cfg.trainer.max_minutes} if cfg.trainer.max_minutes else None,
        precision=cfg.trainer.precision,
        accelerator=cfg.trainer.accelerator,
        devices=cfg.trainer.devices,
        strategy=cfg.trainer.strategy,
        default_root_dir=out,
        logger=CSVLogger(out, name="logs"),
        callbacks=callbacks,
        val_check_interval=cfg.trainer.val_every_steps,
        check_val_every_n_epoch=None,
        limit_val_batches=cfg.trainer.limit_val_batches,
        log_every_n_steps=cfg.trainer.log_every_steps,
        num_sanity_val_steps=0,
        enable_model_summary=False,
        benchmark=cfg.trainer.benchmark,
        use_distributed_sampler=False,
    )  # the bucket sampler splits batches across ranks itself
    resume = (
        str(out / "checkpoints" / "last.ckpt") if cfg.resume == "last" else (cfg.resume or None)
    )
    trainer.fit(task, datamodule=data, ckpt_path=resume)
    if trainer.global_rank != 0:
        return

    ema.swap_in()
    model = task.model.float().eval()
    export = Path(cfg.export or out / "vae.ckpt")
    data_roots = cfg.data.roots or [cfg.data.root]
    save_autoencoder(model, export, meta={"steps": trainer.global_step, "data": data_roots})
    store = EpisodeStores(data_roots)
    held_out = [
        n for n in store.names() if split_of(n, cfg.data.val_fraction, cfg.data.seed) == "val"
    ]
    if not held_out:
        print(
            f"train-vae: no held-out episodes (data.val_fraction={cfg.data.val_fraction}); skipping evaluation"
        )
        return
    held_out = held_out[: cfg.eval_episodes]
    metrics = evaluate_reconstruction(
        model, store, held_out, cfg.eval_max_frames, device=task.device
    )
    metrics.update(steps=trainer.global_step, checkpoint=str(export))
    (out / "eval.json").write_text(json.dumps(metrics, indent=1))
    print(
        f"train-vae: {trainer.global_step} steps; held-out {metrics['episodes']} episodes "
        f"({metrics['frames']} frames): PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.4f}; "
        f"EMA weights -> {export}"
    )
