"""`worldsim train`: train the spacetime DiT world model on a latent cache."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from worldsim.config import ConfigError
from worldsim.data.latent_data_config import LatentDataConfig
from worldsim.diffusion.flow_config import FlowConfig
from worldsim.models.dit_config import DiTConfig
from worldsim.models.text_config import TextConfig
from worldsim.training.logger_names import check_logger
from worldsim.training.trainer_config import TrainerConfig as BaseTrainerConfig
from worldsim.training.world_model_config import OptimConfig, SampleConfig

if TYPE_CHECKING:
    from worldsim.training.world_model import LatentInfo, WorldModel


@dataclass
class TrainerConfig(BaseTrainerConfig):
    """Lightning Trainer knobs of `worldsim train`; bf16 falls back to 32-true without CUDA."""

    devices: str = "auto"  # e.g. 1, 8, auto
    num_nodes: int = 1  # hosts (Lightning's launchers: torchrun, SLURM)
    grad_clip: float = 1.0  # clip the gradient norm to this (0: none)
    val_every: int = 1000  # training steps between validations
    log_every: int = 50  # steps between logged losses
    ckpt_every: int = 1000  # steps between checkpoints (last.ckpt)
    ema_decay: float = 0.999  # 0 = no EMA: the export holds the training weights (needed for FSDP)
    sample_videos: bool = True  # decode a rollout at each validation (needs the VAE checkpoint)
    compile: bool = False  # torch.compile the DiT blocks (GPU; about a minute of compilation)
    # torch.compile the whole DiT instead, static shapes: faster with fixed clip lengths
    # (data.lengths), a new graph for every other shape
    compile_model: bool = False
    # checkpoint to resume from: auto = <out>/checkpoints/last.ckpt if a run left one, "" = none,
    # last = that file (must exist), or a path
    resume: str = "auto"
    seed: int = 0  # weights, noise levels and batch order

    def __post_init__(self) -> None:
        if not (self.devices == "auto" or self.devices.isdigit() and int(self.devices) > 0):
            raise ValueError(f"devices={self.devices}: give a count of 1 or more, or auto")


@dataclass
class Config:
    """World-model training: data, model, objective, optimiser, text encoder, sampling, trainer."""

    data: LatentDataConfig = field(default_factory=LatentDataConfig)
    model: DiTConfig = field(default_factory=DiTConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    text: TextConfig = field(default_factory=TextConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    train: TrainerConfig = field(default_factory=TrainerConfig)
    use_actions: bool = True  # condition on the cache's actions
    out: str = "runs/world_model"  # checkpoints/, logs and ema.ckpt
    export: str = ""  # slim EMA checkpoint path; "" = <out>/ema.ckpt
    export_part_mb: float = 0.0  # > 0: write the export in parts of at most this size (.partN)
    init: str = ""  # start from this world model's weights (path, pretrained:NAME): a new machine
    logger: str = "tensorboard"  # tensorboard | csv | wandb: where losses, lr, speed, videos go
    strict: bool = True  # refuse an incomplete or corrupt latent cache (false: warn once, skip)
    overwrite: bool = False  # start afresh in an out= that another config trained in

    def __post_init__(self) -> None:
        check_logger(self.logger)  # before any work: an unknown or missing logger is one line
        bank = f"flow.rollout_share={self.flow.rollout_share}"
        if self.flow.dmd:
            bank = "flow.dmd=true"
            if self.flow.rollout_share:
                raise ConfigError(
                    "flow.dmd=true trains every row on the rollout bank's contexts: leave "
                    "flow.rollout_share at 0"
                )
            if not self.init:
                raise ConfigError(
                    "flow.dmd=true matches a trained model's windows: give its weights as init= "
                    "(a path or pretrained:NAME)"
                )
            if self.flow.dmd_gan_weight and self.train.precision.startswith("16"):
                raise ConfigError(
                    f"flow.dmd_gan_weight with train.precision={self.train.precision}: the GAN "
                    "gradient is taken apart from the loss scaler and would underflow in fp16; "
                    "use train.precision=bf16-mixed or 32-true"
                )
        if self.model.action_ages and not self.use_actions:
            raise ConfigError(
                f"model.action_ages={self.model.action_ages} tells the actions' ages, and "
                "use_actions=false gives none: leave one of them off"
            )
        uses_bank = self.flow.rollout_share or self.flow.dmd
        # a bank rollout goes on under a newly drawn window's actions and steps, so a clock or
        # ages counted from that window's episode would describe another history than its own
        for knob, what in GROWN.items():
            if uses_bank and (value := getattr(self.model, knob)):
                raise ConfigError(
                    f"model.{knob}={value} with {bank}: the rollout bank does not carry the "
                    f"{what} of its rollouts; leave one of them off"
                )
        if uses_bank and not (self.data.resident and self.data.stride == 1):
            raise ConfigError(
                f"{bank} needs data.resident=true and data.stride=1: the rollout bank rolls "
                "from every window held on the device"
            )
        if uses_bank and self.flow.rollout_frames < max(self.data.lengths) - 1:
            raise ConfigError(
                f"flow.rollout_frames={self.flow.rollout_frames}: a bank rollout makes a window's "
                f"whole context, {max(self.data.lengths) - 1} latent frames at data.lengths="
                f"{list(self.data.lengths)}; raise it to at least that"
            )
        if not 0 <= self.optim.decay_steps <= self.train.max_steps:
            raise ConfigError(
                f"optim.decay_steps={self.optim.decay_steps} must lie in [0, train.max_steps="
                f"{self.train.max_steps}]: the cool-down ends at max_steps"
            )


# knobs that may change when a run continues in its out= (length, hardware, logging, sampling)
FREE = (
    *("out", "export", "export_part_mb", "init", "strict", "overwrite", "data.num_workers"),
    *("train.max_steps", "train.max_minutes", "train.resume", "train.accelerator"),
    *("train.devices", "train.num_nodes", "train.strategy", "train.limit_val_batches"),
    *("train.val_every", "train.log_every", "train.ckpt_every", "train.sample_videos"),
    *("logger", "train.compile", "train.compile_model", "sample"),
)


def latent_info(roots: list[str]) -> tuple[LatentInfo, int, int]:
    """LatentInfo, latent channels and action width of the latent caches."""
    from worldsim.data.actions import action_width
    from worldsim.data.latent_datamodule import LatentCaches
    from worldsim.training.world_model import LatentInfo

    cache = LatentCaches(roots)
    cache.check()  # leaves out unreadable episodes of caches the job accepted with strict=false
    stats, ae = cache.stats(), cache.autoencoder_info()
    names = cache.names()
    if not names:
        raise FileNotFoundError(
            f"latent caches {roots} hold no episodes; run `worldsim encode` first"
        )
    width = action_width(cache, names)
    info = LatentInfo(
        mean=[float(v) for v in stats["mean"]],
        std=[float(v) for v in stats["std"]],
        time_factor=int(ae["time_factor"]),
        space_factor=int(ae["space_factor"]),
        autoencoder=str(ae.get("checkpoint") or ae.get("path") or ""),
    )
    return info, len(info.mean), width


def require_objects(caches, weight: float) -> None:
    """flow.object_weight > 0 weighs the latent cells that `encode` marked as objects
    (objects.npy): refuse latent caches `caches` (LatentCaches) with an episode lacking them
    before out= is written, naming it (training would stop at its first window)."""
    if weight <= 0:
        return
    for cache in caches.parts:
        lacking = [n for n in cache.names() if not cache.has_objects(n)]
        if lacking:
            raise ConfigError(
                f"flow.object_weight={weight} weighs the latent cells holding objects, but "
                f"{len(lacking)} of {len(cache)} episodes in latent cache {cache.root} have no "
                f"objects.npy ({lacking[0]}); re-encode a store recorded with truth 'instance' "
                "(crafter, doom and the MuJoCo envs record it) with this version's `worldsim "
                "encode` into a new out=, or leave flow.object_weight=0"
            )


def build_module(cfg: Config) -> WorldModel:
    """The WorldModel with data-dependent widths (latent channels, actions, text) filled in."""
    from worldsim.data.latent_datamodule import LatentCaches
    from worldsim.models.text import text_dim
    from worldsim.training.world_model import WorldModel, load_world_model

    info, channels, width = latent_info(cfg.data.roots)
    cfg.model.latent_channels = channels
    cfg.model.action_dim = info.time_factor * width if cfg.use_actions else 0
    cfg.model.text_dim = text_dim(cfg.text)
    source = load_world_model(cfg.init) if cfg.init else None  # a bad init= fails before the build
    module = WorldModel(cfg.model, cfg.flow, cfg.optim, cfg.text, cfg.sample, info)
    if cfg.model.text_dim:
        # Training reads caption embeddings from the cache and never runs the text encoder.
        table = LatentCaches(cfg.data.roots).text_table()
        if table is None:
            raise ConfigError(
                f"latent caches {cfg.data.roots} hold no caption embeddings (text.npz); "
                "re-encode with `worldsim encode text.name=minilm`, or train with text.name=none"
            )
        module.set_text_table(table)
    if source is not None:
        init_weights(module, source, cfg.init)
    if cfg.flow.dmd:  # the scores start as the init (a resumed run then loads its own)
        module.start_matching()
    return module


# how a DiT's weights run, not what they are: a full-attention model may start a frame-causal
# one, and a model trained without the fused kernels may run with them
RUN_FIELDS = ("attention", "backend", "checkpointing", "fused_kernels")
# DiT inputs a model may be told anew when it starts from one without them (`init_weights`)
GROWN = {"clock_period": "clock", "action_ages": "action ages"}
# DiT widths that `build_module` fills in from the data and text settings, not from model.*
DERIVED = {
    "latent_channels": "data.roots (the caches' VAE)",
    "action_dim": "data.roots or use_actions",
    "text_dim": "text.name",
}


def init_weights(module: WorldModel, src: WorldModel, source: str) -> None:
    """Copy the DiT weights of `src` (loaded from `source`, same architecture) into `module`.

    A text-less `src` may also start a text model (a scene sentence added to a trained ViZDoom
    model): its text layers keep their fresh weights with the pooled-text projection zeroed, and
    cross-attention's output is zero from `initialize_weights`, so the model starts as `src`.
    A clockless `src` may start a model told the clock (`model.clock_period`) or the actions'
    ages (`model.action_ages`) the same way: their layers start at zero."""
    theirs, ours = dataclasses.asdict(src.model_cfg), dataclasses.asdict(module.model_cfg)
    grows_text = theirs["text_dim"] == 0 and ours["text_dim"] > 0
    # told the clock or the ages anew: each one zero-initialised linear map
    grown = [k for k in GROWN if not theirs.get(k) and ours[k]]
    skip = RUN_FIELDS + (("text_dim",) if grows_text else ()) + tuple(grown)
    differ = [k for k in ours if k not in skip and theirs.get(k) != ours[k]]
    if differ:
        said = ", ".join(f"model.{k}={theirs.get(k)} (configured: {ours[k]})" for k in differ)
        knobs = ", ".join(sorted({DERIVED.get(k, "model.*") for k in differ}))
        raise ConfigError(f"init={source} is a DiT with {said}; set {knobs} to match it")
    # growing text, the clock or the ages, the state dict lacks exactly those layers: every
    # other weight is copied
    module.model.load_state_dict(src.model.state_dict(), strict=not (grows_text or grown))
    if grows_text:
        import torch

        with torch.no_grad():
            module.model.text_pool.weight.zero_()
        print(f"train: init={source} has no text layers: they start silent", flush=True)
    for knob in grown:  # its linear map starts at zero (`DiT.initialize_weights`)
        print(f"train: init={source} has no {GROWN[knob]}: its layer starts silent", flush=True)


def _callbacks(cfg: Config, ema) -> list:
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint

    from worldsim.training.callbacks import SampleVideos

    callbacks = ([ema] if ema else []) + [
        ModelCheckpoint(
            dirpath=Path(cfg.out) / "checkpoints",
            every_n_train_steps=cfg.train.ckpt_every,
            save_last=True,
            save_top_k=-1,
            # a resumed run keeps writing last.ckpt (by default Lightning writes last-v1.ckpt
            # beside the interrupted run's, and resume=auto would return to the stale one)
            enable_version_counter=False,
        ),
        LearningRateMonitor("step"),
    ]
    if cfg.train.sample_videos:
        callbacks.append(SampleVideos(fps=8, ext="mp4" if _has_ffmpeg() else "gif"))
    return callbacks


def _export(cfg: Config, module: WorldModel, trainer, ema) -> None:
    """Write the EMA (or training) weights as a slim checkpoint from rank 0."""
    from worldsim.training.callbacks import unfinished_schedule
    from worldsim.training.world_model import export_checkpoint

    if ema:
        ema.swap_in()
    state = trainer.strategy.lightning_module_state_dict()  # every rank: a collective under FSDP
    if ema:
        ema.swap_out()
    if trainer.is_global_zero:
        module.run_steps = trainer.global_step
        path = export_checkpoint(
            module,
            cfg.export or str(Path(cfg.out) / "ema.ckpt"),
            state_dict=state,
            max_part_mb=cfg.export_part_mb,
        )
        print(
            f"train: {trainer.global_step} steps; {'EMA' if ema else 'training'} weights -> {path}"
            f"{unfinished_schedule(trainer)}"
        )


def compile_dit(module: WorldModel, cfg: TrainerConfig) -> None:
    """torch.compile the module's DiTs in place (state-dict keys unchanged), as `cfg` asks: the
    world model's, and flow.dmd's two scores (which run most of a matching step's passes)."""
    for dit in (module.model, module.fake, module.real):
        if dit is None:
            continue
        if cfg.compile_model:
            dit.compile(dynamic=False)
        elif cfg.compile:
            dit.compile_blocks()


def run(cfg: Config) -> None:
    from worldsim.jobs.pipeline import claim_output, refuse_data_dir
    from worldsim.models.pretrained import require_world_model

    refuse_data_dir("train", cfg.out)
    if cfg.init:
        require_world_model(cfg.init)  # before the imports below load torch (seconds)
    import lightning as L
    import torch

    from worldsim.data.latent_datamodule import LatentCaches, LatentDataModule
    from worldsim.data.manifest import manifest_sha256
    from worldsim.training.callbacks import EMA
    from worldsim.training.trainer import lightning_trainer, resume_checkpoint
    from worldsim.training.trainer_config import check_accelerator

    check_accelerator("train.accelerator", cfg.train.accelerator)
    L.seed_everything(cfg.train.seed, workers=True)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
    try:
        caches = LatentCaches(cfg.data.roots)
        caches.check(cfg.strict)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    require_objects(caches, cfg.flow.object_weight)
    resume_checkpoint(cfg.out, cfg.train.resume)  # a bad one is named before anything is written
    module = build_module(cfg)
    compile_dit(module, cfg.train)
    data = LatentDataModule(cfg.data, cfg.model.action_ages, objects=cfg.flow.object_weight > 0)
    data.setup("fit")  # windows too long for the episodes are refused before out= is claimed
    read = {"data_manifest_sha256": manifest_sha256(cfg.data.roots)}
    if claim_output("train", cfg, FREE, read):  # another config's (or data's) run: start afresh
        shutil.rmtree(Path(cfg.out) / "checkpoints", ignore_errors=True)
    resume = resume_checkpoint(cfg.out, cfg.train.resume)
    if resume:
        print(f"train: resuming from {resume}", flush=True)
    ema = EMA(cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
    devices = int(cfg.train.devices) if cfg.train.devices.isdigit() else cfg.train.devices
    trainer = lightning_trainer(
        cfg.train,
        cfg.out,
        _callbacks(cfg, ema),
        cfg.logger,
        devices=devices,
        num_nodes=cfg.train.num_nodes,
        gradient_clip_val=cfg.train.grad_clip,
        val_check_interval=cfg.train.val_every,
        log_every_n_steps=cfg.train.log_every,
    )
    trainer.fit(module, datamodule=data, ckpt_path=resume)
    _export(cfg, module, trainer, ema)


def _has_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True
