"""`worldsim data info|verify|preview DIR`: look at and check an episode store or a latent cache.

Each command first tells the two apart (`latent_cache`), so no command reads, or repairs, one as
the other.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from worldsim.config import ConfigError, load_config, to_object
from worldsim.data.episode import EpisodeError
from worldsim.data.manifest import MANIFEST, kind_of
from worldsim.data.store import EpisodeStore

if TYPE_CHECKING:
    from worldsim.data.latent_cache import LatentCache


@dataclass
class VerifyConfig:
    rebuild: bool = False  # re-derive the manifest from the episode directories


@dataclass
class PreviewConfig:
    out: str = ""  # default: DIR/preview.mp4 (.gif also works)
    episodes: int = 8  # the first this many episodes of the store
    columns: int = 4  # tiles per row of the grid
    fps: float = 15  # frames per second of the written video
    max_frames: int = 128  # frames shown per episode
    tile_width: int = 192  # narrower episodes are enlarged (whole pixels) so captions fit ~30 chars


def latent_cache(root: str) -> LatentCache | None:
    """The latent cache at `root`, or None when `root` holds none of a latent cache's files."""
    path = Path(root)
    # told by its files (manifest.kind_of), without importing latent_cache: it loads torch
    if kind_of(path) != "latent cache":
        return None
    from worldsim.data.latent_cache import LatentCache

    try:
        return LatentCache(path)
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise EpisodeError(
            f"{path / MANIFEST} is not a valid latent-cache manifest ({err!r}); re-run "
            "`worldsim encode` into a new out= directory"
        ) from err


def _reencode_hint(cache: LatentCache) -> str:
    """How to redo a latent cache: encode the source store again with the same checkpoint."""
    try:
        ckpt = cache.autoencoder_info()["checkpoint"]
    except (OSError, KeyError, json.JSONDecodeError):
        ckpt = "VAE.ckpt"
    return f"`worldsim encode store=STORE out=NEW_DIR checkpoint={ckpt}`"


def _latent_info(cache: LatentCache) -> int:
    """Print counts, frames, latent shapes, encoder and text table of a latent cache."""
    entries = [cache.entry(n) for n in cache.names()]
    print(f"latent cache {cache.root.resolve()}")
    print(f"episodes     {len(entries)}")
    print(f"frames       {sum(e.frames for e in entries)} source frames")
    print(f"latents      {sum(e.latent_frames for e in entries)} latent frames")
    for shape, n in sorted(Counter(tuple(e.shape[1:]) for e in entries).items()):
        print(f"latent shape {'x'.join(map(str, shape))} (CxHxW): {n} episodes")
    try:
        print(f"encoder      {json.dumps(cache.autoencoder_info(), sort_keys=True)}")
    except (OSError, json.JSONDecodeError) as err:
        print(f"encoder      unknown ({err})")
    text = json.loads((cache.root / MANIFEST).read_text()).get("text")
    print(f"text         {text['sentences'] if text else 0} caption sentences")
    return 0


def _latent_verify(cache: LatentCache, cfg: VerifyConfig) -> int:
    """Check every cached episode (checksum, dtypes, NaN/inf), the text table and the stats; a
    latent cache has no rebuild."""
    if cfg.rebuild:
        raise ConfigError(
            f"{cache.root} is a latent cache; rebuild=true re-derives episode-store manifests "
            f"only. Check it without rebuild, and redo a bad cache with {_reencode_hint(cache)}"
        )
    problems = [
        "; ".join(why)
        for name in cache.names()
        if (why := [p for p in (cache.verify(name), cache.open_problem(name)) if p])
    ]
    text_problem, stats_problem = cache.verify_text(), cache.stats_problem()
    for problem in [*problems, *(p for p in (text_problem, stats_problem) if p)]:
        print(f"BAD  {problem}")
    print(
        f"latent cache: {len(cache) - len(problems)}/{len(cache)} episodes OK, "
        f"text table {'BAD' if text_problem else 'OK'}, stats {'BAD' if stats_problem else 'OK'}"
    )
    if problems or text_problem or stats_problem:
        print(f"fix: encode the source store again into a new directory: {_reencode_hint(cache)}")
        return 1
    return 0


def info(root: str, args: list[str]) -> int:
    """Print counts, frames, resolutions and env ids of a store (or a latent cache's summary)."""
    if args:
        print(f"worldsim data info takes no options (got {' '.join(args)})")
        return 2
    cache = latent_cache(root)
    if cache is not None:
        return _latent_info(cache)
    store = EpisodeStore(root)
    entries = [store.entry(n) for n in store.names()]
    frames = sum(e.length for e in entries)
    print(f"store        {Path(root).resolve()}")
    print(f"episodes     {len(entries)}")
    print(f"frames       {frames}")
    if entries:
        lengths = [e.length for e in entries]
        print(
            f"length       min {min(lengths)}  mean {frames / len(entries):.1f}  max {max(lengths)}"
        )
    for (h, w), n in sorted(Counter((e.height, e.width) for e in entries).items()):
        print(f"resolution   {h}x{w} (HxW): {n} episodes")
    for env_id, n in sorted(Counter(e.env_id for e in entries).items()):
        print(f"env          {env_id}: {n} episodes")
    return 0


def verify(root: str, args: list[str]) -> int:
    """Check every episode against checksum and schema; name each bad one. Exit 1 if any."""
    cfg: VerifyConfig = to_object(load_config(VerifyConfig, args))
    cache = latent_cache(root)
    if cache is not None:
        return _latent_verify(cache, cfg)
    if cfg.rebuild and not (Path(root) / MANIFEST).is_file() and not any(Path(root).glob("ep_*")):
        raise ConfigError(f"{root} holds no episode store (no {MANIFEST}, no ep_* directories)")
    store = EpisodeStore(root, repair=cfg.rebuild)
    if cfg.rebuild:
        backup = _back_up_manifest(store.root)
        unreadable = store.rebuild_manifest()
        if backup:
            print(f"previous manifest kept as {backup}")
        print(
            f"rebuilt manifest: {len(store)} episodes"
            + (f", {len(unreadable)} unreadable" if unreadable else "")
        )
        for line in unreadable:
            print(f"BAD  {line}")
    problems = store.verify_all()
    for problem in problems:
        print(f"BAD  {problem}")
    print(f"{len(store) - len(problems)}/{len(store)} episodes OK")
    if problems:
        print(
            "fix: delete the bad episode directories, then "
            f"`worldsim data verify {root} rebuild=true` and re-run the same `worldsim record` "
            "command to regenerate them"
        )
    return 1 if problems else 0


def _back_up_manifest(root: Path) -> Path | None:
    """Copy manifest.json aside before a rebuild overwrites it; the copy's path (None: none)."""
    path = root / MANIFEST
    if not path.is_file():
        return None
    backup = root / f"{MANIFEST}.bak"
    shutil.copy2(path, backup)
    return backup


def preview(root: str, args: list[str]) -> int:
    """Write an mp4/gif grid of the first episodes, each with its whole caption wrapped below."""
    # Imported here: worldsim.video loads torch, which `worldsim --help` and `data info` never need.
    from worldsim.video import frame_grid, write_video

    cfg: PreviewConfig = to_object(load_config(PreviewConfig, args))
    if latent_cache(root) is not None:
        raise ConfigError(
            f"{root} is a latent cache; preview shows episode stores. See its videos with "
            f"`worldsim decode cache={root}`"
        )
    store = EpisodeStore(root)
    store.check()  # a malformed episode is named here, not met half-way through the grid
    videos, captions = [], []
    for name in store.names()[: cfg.episodes]:
        ep = store.load(name)
        videos.append(ep.frames[: cfg.max_frames])  # (T, H, W, 3)
        captions.append(f"{name}: {ep.captions.get('long') or ep.captions.get('prompt', '')}")
    if not videos:
        print(f"{root} has no episodes to preview")
        return 1
    out = Path(cfg.out or Path(root) / "preview.mp4")
    if out.suffix not in (".mp4", ".gif") or out.is_dir():
        raise ConfigError(f"out={out}: give the path of an .mp4 or .gif file")
    grid = frame_grid(videos, cfg.columns, captions=captions, tile_width=cfg.tile_width)
    write_video(out, grid, cfg.fps)
    print(f"wrote {out}")
    return 0


# `worldsim data VERB DIR [key=value ...]`: each verb's function here and the schema of its knobs.
VERBS: dict[str, type | None] = {"info": None, "verify": VerifyConfig, "preview": PreviewConfig}
