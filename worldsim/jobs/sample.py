"""`worldsim sample mode=...`: generate videos with a trained world model and write them as mp4s.

Modes: the registry `worldsim.diffusion.modes.MODES` (text, image, image_to_video, extend_forward,
extend_backward, interpolate, loop, edit, rollout).
Inputs: `input=` a video/image file or an episode store directory (then `episode=` picks one, and
its actions condition the generation); `input2=` the second clip of `interpolate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from einops import rearrange

from worldsim.config import ConfigError
from worldsim.data.pixels import pixels_to_unit
from worldsim.diffusion.guidance import GuidanceConfig
from worldsim.diffusion.modes import MODES, Mode, ModeInputs
from worldsim.diffusion.samplers import SamplerConfig
from worldsim.models.latents import actions_per_latent_frame, encode_video


@dataclass
class Config:
    """What to generate, from what, with which sampler and guidance."""

    ckpt: str = "runs/world_model/ema.ckpt"
    mode: str = "text"
    prompt: str = ""  # "" = the episode's caption when an episode is given
    input: str = ""  # video/image file, or episode store directory
    input2: str = ""  # second clip (interpolate)
    episode: str = ""  # episode name in the `input` store ("" = the first)
    context: int = 5  # pixel frames of the input used as context (1 + time_factor k)
    frames: int = 32  # pixel frames to generate (rounded up to whole latent frames)
    height: int = 64  # size of text / image generations (pixels)
    width: int = 64
    strength: float = 0.6  # edit: noise level the input is pushed to
    samples: int = 1
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)
    window: int = 8  # rollout: latent frames the model sees
    chunk: int = 1  # rollout: latent frames per step
    seed: int = 0
    fps: int = 15
    device: str = "auto"
    autoencoder: str = ""  # override the VAE checkpoint recorded in the world model
    out: str = "samples"


def _read_input(path: str, episode: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Frames (T, H, W, 3) uint8, per-frame actions (T, A) or None, and a caption."""
    p = Path(path)
    if p.is_dir():
        from worldsim.data.store import EpisodeStore

        store = EpisodeStore(p)
        names = store.names()
        if not names:
            raise ConfigError(
                f"episode store {p} is empty; pass input=FILE or a store with episodes"
            )
        name = episode or names[0]
        ep = store.load(name)
        caption = ep.captions.get("prompt", "") if ep.captions else ""
        return np.asarray(ep.frames), np.asarray(ep.actions, np.float32), caption
    if not p.is_file():
        raise ConfigError(f"input '{path}' is neither a file nor an episode store directory")
    from worldsim.video import read_video

    return read_video(p), None, ""


def _load(cfg: Config):
    """The world model on its device, with a readable autoencoder."""
    from worldsim.training.world_model import load_world_model

    device = (
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    module = load_world_model(cfg.ckpt, device)
    if cfg.autoencoder:
        module.latent_info.autoencoder = cfg.autoencoder
    if module.autoencoder() is None:
        raise ConfigError(
            f"world model {cfg.ckpt} has no readable autoencoder; pass autoencoder=PATH"
        )
    return module


def _inputs(cfg: Config, module, mode: Mode) -> tuple[ModeInputs, str]:
    """The mode's inputs from the config (input files encoded on demand) and the input's caption."""
    vae, tf, n, device = (
        module.autoencoder(),
        module.latent_info.time_factor,
        cfg.samples,
        module.device,
    )
    frames, actions, caption = (None, None, "")
    if cfg.input:
        frames, actions, caption = _read_input(cfg.input, cfg.episode)
    if mode.needs_input and frames is None:
        raise ConfigError(f"mode {cfg.mode} needs input=VIDEO|IMAGE|STORE")
    if cfg.context < 1 or (cfg.context - 1) % tf:
        raise ConfigError(f"context={cfg.context} must be 1 + {tf} k pixel frames")

    def encoder(video: np.ndarray):
        def encode(frames: slice) -> torch.Tensor:
            clip = rearrange(pixels_to_unit(video[frames]), "t h w c -> 1 t c h w").to(device)
            return module.normalise(encode_video(vae, clip)).expand(n, -1, -1, -1, -1)

        return encode

    def latent_actions(latent_frames: int) -> torch.Tensor | None:
        if actions is None or not module.model_cfg.action_dim:
            return None
        per_pixel = torch.tensor(actions)[None]  # (1, T, A)
        grouped = actions_per_latent_frame(
            per_pixel, latent_frames, module.model_cfg.action_dim, tf
        )
        return grouped.expand(n, -1, -1).to(device)

    inputs = ModeInputs(
        batch=n,
        new=-(-cfg.frames // tf),
        shape=(
            module.model_cfg.latent_channels,
            cfg.height // vae.space_factor,
            cfg.width // vae.space_factor,
        ),
        device=device,
        time_factor=tf,
        actions=latent_actions,
        strength=cfg.strength,
        window=cfg.window,
        chunk=cfg.chunk,
    )
    if frames is not None:
        inputs.frames = len(frames)
        inputs.context = min(cfg.context, 1 + (len(frames) - 1) // tf * tf)
        inputs.encode = encoder(frames)
        if cfg.input2:
            inputs.encode_second = encoder(_read_input(cfg.input2, "")[0])
    return inputs, caption


def _write(cfg: Config, mode: Mode, videos: np.ndarray) -> None:
    """Each (T, 3, H, W) video in [-1, 1] as an mp4 (a png for an image)."""
    from PIL import Image

    from worldsim.video import to_uint8, write_video

    out = Path(cfg.out)
    for i, video in enumerate(videos):
        if mode.image:
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"image_{i:02d}.png"
            Image.fromarray(to_uint8(video)[0]).save(path)
        else:
            path = write_video(out / f"{cfg.mode}_{i:02d}.mp4", to_uint8(video), fps=cfg.fps)
        print(f"sample: {cfg.mode} -> {path}")


def run(cfg: Config) -> None:
    from worldsim.training.world_model import SampleConfig

    if cfg.mode not in MODES:
        raise ConfigError(f"mode '{cfg.mode}' unknown; choose one of {', '.join(MODES)}")
    mode = MODES[cfg.mode]
    module = _load(cfg)
    inputs, caption = _inputs(cfg, module, mode)
    sample = SampleConfig(cfg.sampler, cfg.guidance, cfg.window, cfg.chunk)
    runner = module.mode_runner([cfg.prompt or caption] * cfg.samples, cfg.seed, sample)
    with torch.no_grad():
        videos = module.decode(mode.run(runner, inputs)).float().cpu().numpy()  # (n, T, 3, H, W)
    _write(cfg, mode, videos)
