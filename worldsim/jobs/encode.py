"""`worldsim encode`: encode an episode store into a latent cache (sharded, resumable)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from worldsim.config import ConfigError
from worldsim.jobs.pipeline import claim_output
from worldsim.models.text_config import TextConfig

# knobs that may change between runs into one cache: where, which share, on what device, and the
# streaming chunk (a causal encoder gives the same latents for any chunk)
FREE = ("out", "shard", "device", "chunk", "strict", "overwrite", "progress")


@dataclass
class Config:
    """encode job: which store, which VAE checkpoint, where, and which shard."""

    store: str = "data/rollouts"  # the episode store to encode
    checkpoint: str = "runs/vae/vae.ckpt"  # VAE checkpoint (`worldsim train-vae` writes vae.ckpt)
    out: str = "data/latents"  # the latent cache (created, or extended on a rerun)
    shard: str = (
        "0/1"  # i/n: this process encodes the store's episodes k with k % n == i (sorted names)
    )
    chunk: int = 0  # frames per chunk after the first (0: the model's encode_chunk)
    max_frames: int = 0  # encode at most this many frames per episode (0: all)
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...
    text: TextConfig = field(default_factory=TextConfig)  # caption embeddings stored in the cache
    strict: bool = True  # refuse an incomplete or corrupt store (false: warn once, skip them)
    overwrite: bool = False  # replace a cache that another VAE, store or config made
    progress: bool = True  # show a progress bar (episodes, ETA)


def resolve_device(name: str) -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'cpu'; a GPU asked for and absent is refused."""
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name} but no CUDA GPU is visible here; use device=auto or cpu")
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def caption_texts(captions: dict) -> list[str]:
    """The caption texts training reads (`Captions.for_window`): the windows', else the long one."""
    if not captions:
        return []
    return [w["text"] for w in captions.get("windows", [])] or [captions.get("long", "")]


def _open_cache(cfg: Config, model, episodes: int):
    """The output latent cache (cleared when another config made it and overwrite=true),
    recording (or checking) the config and the autoencoder that fill it."""
    from worldsim.data.latent_cache import LatentCache
    from worldsim.data.manifest import file_sha256
    from worldsim.models.pretrained import resolve_checkpoint

    vae = {"checkpoint_sha256": file_sha256(Path(resolve_checkpoint(cfg.checkpoint)))}
    cache = LatentCache(cfg.out, create=True)
    if claim_output("encode", cfg, FREE, inputs=vae, episodes=episodes):
        cache.clear()
    info = {
        "checkpoint": recorded_checkpoint(cfg.checkpoint),
        "time_factor": model.time_factor,
        "space_factor": model.space_factor,
        "latent_channels": model.latent_channels,
    }
    try:
        cache.set_autoencoder_info(info)  # checks the encoder of a cache made before records
    except ValueError as err:
        if not cfg.overwrite:
            raise ConfigError(f"{err}, or pass overwrite=true to replace it") from err
        cache.clear()
        cache.set_autoencoder_info(info)
    return cache


def recorded_checkpoint(spec: str) -> str:
    """The VAE as a cache records it, for `decode` and `train` to load: a shipped name or a URL
    as given (`pretrained:mujoco`), a path made absolute so that it reads from any folder."""
    from worldsim.models.pretrained import is_path

    return str(Path(spec).resolve()) if is_path(spec) else spec


def _embed_captions(text, store, names: list[str]) -> None:
    """Every caption sentence of episodes `names` into the text table before any latent is
    encoded: one that cannot be embedded (no encoder, not in the table) stops the job here."""
    for name in names:
        try:
            text.fill(caption_texts(store.load(name).captions))
        except KeyError as err:
            raise ConfigError(f"episode {name}: {err.args[0]}") from err


def run(cfg: Config) -> None:
    from worldsim.data.record import parse_shard
    from worldsim.models.pretrained import require_autoencoder

    try:
        index, count = parse_shard(cfg.shard)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    require_autoencoder(cfg.checkpoint)  # before the imports below load torch (seconds)
    from worldsim.data.store import EpisodeStore

    store = EpisodeStore(cfg.store)  # a missing store too
    listed = len(store)
    store.check(cfg.strict)  # under strict=false it lists the readable episodes only
    import numpy as np

    from worldsim.data.latent_cache import object_shares, write_latent_episode
    from worldsim.models.autoencoder import load_autoencoder
    from worldsim.models.latents import encode_episode
    from worldsim.models.text import load_caption_embedder
    from worldsim.progress_bar import progress_bar

    device = resolve_device(cfg.device)
    model = load_autoencoder(cfg.checkpoint, device)
    text = load_caption_embedder(cfg.text)
    cache = _open_cache(cfg, model, listed)
    mine = [n for k, n in enumerate(store.names()) if k % count == index]
    done = set(cache.names())
    todo = [n for n in mine if n not in done]
    cache.remove_unfinished(set(todo))
    if text is not None:
        _embed_captions(text, store, todo)
    chunk = cfg.chunk or model.cfg.encode_chunk
    frames_done, start = 0, time.perf_counter()
    for name in progress_bar(todo, desc="encode", unit="ep", disable=not cfg.progress):
        ep = store.load(name)
        t = ep.length if not cfg.max_frames else min(ep.length, cfg.max_frames)
        t = 1 + (t - 1) // model.time_factor * model.time_factor
        doc = {
            "captions": ep.captions,
            "meta": ep.meta,
            "env_id": ep.meta.get("env_id", ""),
            "fps": ep.meta.get("fps"),
            "source_frames": ep.length,
        }
        latents = encode_episode(model, ep.frames, t, chunk, device)
        objects = None  # train's flow.object_weight weighs the cells where objects are
        if "instance" in ep.truth:
            objects = object_shares(ep.truth["instance"][:t], model.time_factor, model.space_factor)
        entry = write_latent_episode(
            cache.root, name, latents, np.array(ep.actions[:t]), doc, model.time_factor, objects
        )
        cache.add([entry], text=None if text is None else text.table)
        frames_done += t
    elapsed = time.perf_counter() - start
    print(
        f"encode: {len(todo)} episodes ({frames_done} frames, "
        f"{frames_done / max(elapsed, 1e-9):.0f} frames/s) on {device}, "
        f"{len(mine) - len(todo)} already done -> {cache.root}"
    )
