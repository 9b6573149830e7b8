"""`worldsim sample mode=...`: generate videos with a trained world model and write them as mp4s.

Modes: text (text->video), image (one frame, .png), image_to_video, extend_forward, extend_backward,
interpolate, loop, edit (SDEdit, `strength`), rollout (autoregressive, action-conditioned, any length).
Inputs: `input=` a video/image file or an episode store directory (then `episode=` picks one, and its
actions condition the generation); `input2=` the second clip of `interpolate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from worldsim.config import ConfigError
from worldsim.diffusion.guidance import GuidanceConfig
from worldsim.diffusion.modes import MODES
from worldsim.diffusion.samplers import SamplerConfig


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


def _pixels(frames: np.ndarray, device) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (1, T, 3, H, W) float in [-1, 1]."""
    return (
        torch.from_numpy(np.array(frames))
        .permute(0, 3, 1, 2)[None]
        .float()
        .div(127.5)
        .sub(1)
        .to(device)
    )


def run(cfg: Config) -> None:
    from worldsim.data.latent_datamodule import latent_actions, pad_actions
    from worldsim.training.world_model import SampleConfig, load_world_model
    from worldsim.video import to_uint8, write_video

    if cfg.mode not in MODES:
        raise ConfigError(f"mode '{cfg.mode}' unknown; choose one of {', '.join(MODES)}")
    device = (
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    module = load_world_model(cfg.ckpt, device)
    if cfg.autoencoder:
        module.latents.autoencoder = cfg.autoencoder
    if module.autoencoder() is None:
        raise ConfigError(
            f"world model {cfg.ckpt} has no readable autoencoder; pass autoencoder=PATH"
        )
    vae, tf, n = module.autoencoder(), module.latents.time_factor, cfg.samples
    new = -(-cfg.frames // tf)  # latent frames to generate

    frames, actions, caption = (None, None, "")
    if cfg.input:
        frames, actions, caption = _read_input(cfg.input, cfg.episode)
    needs_input = cfg.mode not in ("text", "image", "loop")
    if needs_input and frames is None:
        raise ConfigError(f"mode {cfg.mode} needs input=VIDEO|IMAGE|STORE")
    if cfg.context < 1 or (cfg.context - 1) % tf:
        raise ConfigError(f"context={cfg.context} must be 1 + {tf} k pixel frames")

    def encode(clip: np.ndarray) -> torch.Tensor:
        x = _pixels(clip, device).permute(0, 2, 1, 3, 4)  # (1, 3, T, H, W)
        z = vae.encode(x).permute(0, 2, 1, 3, 4)  # (1, T', c, h, w)
        return module.normalise(z).expand(n, -1, -1, -1, -1)

    def acts(start: int, count: int) -> torch.Tensor | None:
        """Per-latent-frame actions for `count` latent frames from pixel frame `start` (zeros past the end)."""
        if actions is None or not module.model_cfg.action_dim:
            return None
        need = 1 + tf * (count - 1)
        span = torch.from_numpy(actions[start : start + need])
        span = torch.cat([span, span.new_zeros(need - span.shape[0], span.shape[1])])
        return (
            latent_actions(pad_actions(span, module.model_cfg.action_dim // tf), tf)[None]
            .expand(n, -1, -1)
            .to(device)
        )

    sample = SampleConfig(cfg.sampler, cfg.guidance, cfg.window, cfg.chunk)
    gen = module.generator_for([cfg.prompt or caption] * n, cfg.seed, sample)
    shape = (
        module.model_cfg.latent_channels,
        cfg.height // vae.space_factor,
        cfg.width // vae.space_factor,
    )
    ctx = min(cfg.context, 1 + (len(frames) - 1) // tf * tf) if frames is not None else 0
    with torch.no_grad():
        if cfg.mode == "text":
            z = gen.text_to_video(n, 1 + new, shape, device=device)
        elif cfg.mode == "image":
            z = gen.image(n, shape, device=device)
        elif cfg.mode == "image_to_video":
            z = gen.image_to_video(encode(frames[:1]), 1 + new, acts(0, 1 + new))
        elif cfg.mode == "extend_forward":
            z = gen.extend_forward(encode(frames[:ctx]), new, acts(0, (ctx - 1) // tf + 1 + new))
        elif (
            cfg.mode == "extend_backward"
        ):  # frames before the input have no recorded actions: null action
            z = gen.extend_backward(encode(frames[-ctx:]), new)
        elif cfg.mode == "interpolate":
            second = _read_input(cfg.input2, "")[0] if cfg.input2 else frames
            z = gen.interpolate(encode(frames[:ctx]), encode(second[-ctx:]), new)
        elif cfg.mode == "loop":
            anchor = (
                encode(frames[:1]) if frames is not None else gen.image(n, shape, device=device)
            )
            z = gen.loop(anchor, 1 + new)
        elif cfg.mode == "edit":
            clip = frames[: 1 + (min(len(frames), 1 + tf * new) - 1) // tf * tf]
            z = gen.edit(encode(clip), cfg.strength, actions=acts(0, (len(clip) - 1) // tf + 1))
        else:  # rollout
            z = gen.rollout(
                encode(frames[:ctx]), new, acts(0, (ctx - 1) // tf + 1 + new), cfg.window, cfg.chunk
            )
        video = module.decode(z).float().cpu().numpy()  # (n, T, 3, H, W)
    out = Path(cfg.out)
    for i in range(n):
        if cfg.mode == "image":
            from PIL import Image

            out.mkdir(parents=True, exist_ok=True)
            path = out / f"image_{i:02d}.png"
            Image.fromarray(to_uint8(video[i])[0]).save(path)
        else:
            path = write_video(out / f"{cfg.mode}_{i:02d}.mp4", to_uint8(video[i]), fps=cfg.fps)
        print(f"sample: {cfg.mode} -> {path}")
