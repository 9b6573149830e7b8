"""`worldsim data info|verify|preview DIR`: look at and check an episode store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from worldsim.config import load_config, to_object
from worldsim.data.store import EpisodeStore


@dataclass
class VerifyConfig:
    rebuild: bool = False  # re-derive the manifest from the episode directories


@dataclass
class PreviewConfig:
    out: str = ""  # default: DIR/preview.mp4 (.gif also works)
    episodes: int = 8
    columns: int = 4
    fps: float = 15
    max_frames: int = 128


def info(root: str, args: list[str]) -> int:
    """Print counts, frames, resolutions and env ids of a store."""
    if args:
        print(f"worldsim data info takes no options (got {' '.join(args)})")
        return 2
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
    store = EpisodeStore(root, repair=cfg.rebuild)
    if cfg.rebuild:
        unreadable = store.rebuild_manifest()
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


def preview(root: str, args: list[str]) -> int:
    """Write an mp4/gif grid of the first episodes with their short prompts."""
    # Imported here: worldsim.video loads torch, which `worldsim --help` and `data info` never need.
    from worldsim.video import frame_grid, write_video

    cfg: PreviewConfig = to_object(load_config(PreviewConfig, args))
    store = EpisodeStore(root)
    videos, captions = [], []
    for name in store.names()[: cfg.episodes]:
        ep = store.load(name)
        videos.append(ep.frames[: cfg.max_frames])
        captions.append(f"{name}: {ep.captions.get('long') or ep.captions.get('prompt', '')}")
    if not videos:
        print(f"{root} has no episodes to preview")
        return 1
    out = Path(cfg.out or Path(root) / "preview.mp4")
    write_video(out, frame_grid(videos, cfg.columns, captions=captions), cfg.fps)
    print(f"wrote {out}")
    return 0
