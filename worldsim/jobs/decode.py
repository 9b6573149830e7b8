"""`worldsim decode`: decode a latent cache back to viewable videos (mp4 or gif)."""

from __future__ import annotations

from dataclasses import dataclass, field

from worldsim.config import ConfigError


@dataclass
class Config:
    """decode job: which cache, which episodes, where to write the videos."""

    cache: str = "data/latents"  # the latent cache to decode
    out: str = "runs/decoded"  # directory of the videos
    episodes: list[str] = field(default_factory=list)  # names to decode (empty: the first `limit`)
    limit: int = 4  # episodes decoded when `episodes` is empty
    checkpoint: str = ""  # VAE checkpoint (empty: the one recorded in the cache's autoencoder.json)
    chunk: int = 0  # latent frames per chunk after the first (0: the model's decode_chunk)
    ext: str = "mp4"  # mp4 | gif
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...
    strict: bool = True  # refuse an incomplete or corrupt cache (false: warn once, skip them)


def run(cfg: Config) -> None:
    from pathlib import Path

    from worldsim.jobs.pipeline import refuse_data_dir
    from worldsim.models.pretrained import require_autoencoder

    refuse_data_dir("decode", cfg.out, writes="videos")
    if cfg.checkpoint:  # else the cache's own, read below
        require_autoencoder(cfg.checkpoint)  # before the imports below load torch (seconds)
    import torch

    from worldsim.data.latent_cache import LatentCache
    from worldsim.jobs.encode import resolve_device
    from worldsim.models.autoencoder import load_autoencoder
    from worldsim.video import to_uint8, write_video

    cache = LatentCache(cfg.cache)
    cache.check(cfg.strict)  # an unreadable episode is named before any video is written
    names = cfg.episodes or cache.names()[: cfg.limit]  # under strict=false: the readable ones
    if unknown := sorted(set(names) - set(cache.names())):
        raise ConfigError(f"episodes {unknown} are not in {cfg.cache}; see `worldsim data info`")
    device = resolve_device(cfg.device)
    model = load_autoencoder(cfg.checkpoint or cache.autoencoder_info()["checkpoint"], device)
    for name in names:
        ep = cache.load(name)
        z = (
            torch.from_numpy(ep.latents.astype("float32")).to(device).permute(1, 0, 2, 3)[None]
        )  # (1, c, T', h, w)
        with torch.no_grad():
            video = (
                model.decode(z, cfg.chunk or None).clamp(-1, 1)[0].transpose(0, 1)
            )  # (T, C, H, W)
        path = write_video(
            Path(cfg.out) / f"{name}.{cfg.ext}",
            to_uint8(video.cpu().numpy()),
            fps=ep.meta.get("fps") or 15,
        )
        print(f"decode: {name} ({video.shape[0]} frames) -> {path}")
