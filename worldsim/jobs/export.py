"""`worldsim export`: a trained world model -> one shippable fp16 file (weights, VAE, captions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OUT_IS_FILE = True  # out= names the file written (config.check_out)


@dataclass
class Config:
    """export job: which checkpoint, where, and how to split it."""

    ckpt: str = "runs/world_model/ema.ckpt"  # a `worldsim train` checkpoint or export
    out: str = "runs/world_model/model.pt"  # the shippable file
    bundle_autoencoder: bool = True  # include the VAE, so the file loads with nothing beside it
    # bundle this VAE instead of the model's own: a decoder fine-tune of it (train-vae
    # decoder_only=true init=CKPT), whose encoder must be the model's
    autoencoder: str = ""
    max_part_mb: float = 0.0  # > 0: write <out>.part0, .part1, ... of at most this size
    # the file's default sampling, changed by dotted overrides ("context_level=0.2",
    # "sampler.steps=20,context_level=0.3"); "" keeps the checkpoint's
    sampling: str = ""


def _refuse_another_file(out: str) -> None:
    """An existing out= is replaced only when it is a world model (an earlier export, or ckpt=
    itself): a VAE checkpoint or any other file named there by mistake is kept."""
    from worldsim.config import ConfigError
    from worldsim.models.checkpoint import CheckpointError, read_checkpoint

    path = Path(out)
    if not path.is_file():
        return
    try:
        ckpt = read_checkpoint(path, path, "world-model", "", ("hyper_parameters",))
        if "latents" in ckpt["hyper_parameters"]:  # what a world model's file alone holds
            return
    except CheckpointError:
        pass
    raise ConfigError(
        f"out={out} exists and is not a world model; give a new path (export replaces only an "
        "earlier export)"
    )


def run(cfg: Config) -> None:
    from worldsim.models.pretrained import require_autoencoder, require_world_model

    # before the imports below load torch (seconds)
    require_world_model(cfg.ckpt)
    if cfg.autoencoder:
        require_autoencoder(cfg.autoencoder)
    from worldsim.data.manifest import file_sha256
    from worldsim.training.world_model import export_checkpoint, load_world_model
    from worldsim.training.world_model_config import with_sampling

    _refuse_another_file(cfg.out)
    module = load_world_model(cfg.ckpt)
    module.sample_cfg = with_sampling(module.sample_cfg, cfg.sampling)
    if cfg.autoencoder:
        module.replace_decoder(cfg.autoencoder)
    path = export_checkpoint(
        module, cfg.out, bundle_autoencoder=cfg.bundle_autoencoder, max_part_mb=cfg.max_part_mb
    )
    out = Path(path)
    steps = f"{module.run_steps} steps"
    if module.run_steps is None:
        steps = "its run's steps not recorded"
    if out.is_file():
        print(
            f"export: {cfg.ckpt} ({steps}) -> {out} ({out.stat().st_size / 2**20:.1f} MiB, "
            f"sha256 {file_sha256(out)})"
        )
    else:
        parts = sorted(out.parent.glob(f"{out.name}.part*"))
        print(f"export: {cfg.ckpt} ({steps}) -> {len(parts)} parts {out}.part* (join with cat)")
