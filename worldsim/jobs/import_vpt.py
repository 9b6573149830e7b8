"""`worldsim import-vpt`: OpenAI VPT / MineRL contractor recordings (mp4 + jsonl) -> episode store.

Frame t of an episode is video frame t; `actions[t]` is the action recorded with frame t - 1
(the one executed just before frame t), `actions[0]` the no-op. Long recordings can be cut into
episodes of `episode_frames`. Re-running skips recordings already imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from worldsim.config import ConfigError


@dataclass
class Config:
    """Where the recordings are, where the store goes, and how frames are sampled."""

    src: str = "data/vpt"  # directory of <id>.mp4 + <id>.jsonl pairs
    out: str = "data/vpt_store"  # the episode store (created, or extended on a rerun)
    width: int = 128  # frames are resized to width x height (VPT records 640x360)
    height: int = 72  # see width
    fps: float = 20.0  # VPT records at 20 frames per second
    episode_frames: int = (
        0  # cut recordings into episodes of at most this many frames; 0 keeps them whole
    )
    skip_null: bool = (
        False  # drop frames whose action does nothing (as VPT's training does; breaks real time)
    )
    vfov: float = 70.0  # vertical field of view of the recordings (Minecraft's default)
    prompt: str = "play Minecraft"  # the short caption of every imported episode


SCENE = "First-person Minecraft footage of a human player (OpenAI VPT contractor recording)."


def recordings(src: str | Path) -> list[tuple[Path, Path]]:
    """(mp4, jsonl) pairs of `src`, sorted by name."""
    src = Path(src)
    if not src.is_dir():
        raise ConfigError(f"src={src} is not a directory of VPT recordings (<id>.mp4 + <id>.jsonl)")
    pairs = [(mp4, mp4.with_suffix(".jsonl")) for mp4 in sorted(src.glob("*.mp4"))]
    missing = [str(j) for _, j in pairs if not j.is_file()]
    if missing:
        raise ConfigError(f"recordings without their action file: {', '.join(missing)}")
    if not pairs:
        raise ConfigError(f"no .mp4 recordings in {src}")
    return pairs


def episode_stem(mp4: Path) -> str:
    """Episode names of a recording are `<stem>_<chunk:03d>`, with the stem made filesystem-safe."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", mp4.stem)


def video_frames(path: Path, width: int, height: int) -> Iterator[np.ndarray]:
    """Stream an mp4 as (height, width, 3) uint8 frames."""
    import imageio.v2 as imageio

    from envs.resize import resize_rgb

    reader = imageio.get_reader(path, format="FFMPEG")
    try:
        for frame in reader:
            yield resize_rgb(np.asarray(frame)[..., :3], width, height)
    finally:
        reader.close()


def _jsonable(action: dict[str, Any]) -> dict[str, Any]:
    return {k: (np.asarray(v).tolist() if k == "camera" else int(v)) for k, v in action.items()}


def _truth(rec, idx: np.ndarray, cfg: Config) -> dict[str, np.ndarray]:
    """Camera intrinsics, GUI flag and (when recorded) poses of the recording's frames `idx`."""
    from envs.minerl import camera

    truth: dict[str, np.ndarray] = {
        "intrinsics": np.repeat(
            camera.intrinsics(cfg.width, cfg.height, cfg.vfov)[None], len(idx), 0
        ),
        "extra_gui_open": rec.gui_open[idx].astype(np.float32),
    }
    if rec.poses is not None:
        poses = rec.poses[idx]  # (n, 5) x, y, z, yaw, pitch
        truth["extrinsics"] = np.stack([camera.extrinsics(p[:3], p[3], p[4]) for p in poses])
        truth["extra_pose"] = poses
    return truth


def build_episodes(mp4: Path, jsonl: Path, cfg: Config) -> Iterator[tuple[str, Any]]:
    """(name, Episode) for each episode cut from one recording."""
    from envs.minerl.actions import MineRLCodec, noop_action
    from envs.minerl.captions import describe_minecraft
    from envs.minerl.vpt import RecordingError, read_recording
    from worldsim.data.episode import SCHEMA_VERSION, Episode

    try:
        rec = read_recording(jsonl)
    except RecordingError as err:
        raise ConfigError(str(err)) from err
    frames = np.stack(list(video_frames(mp4, cfg.width, cfg.height)))  # (T, H, W, 3)
    t = min(len(frames), len(rec.actions))
    if len(frames) != len(rec.actions):
        print(
            f"import-vpt: {mp4.name} has {len(frames)} frames and {len(rec.actions)} action lines; "
            f"using {t}"
        )
    keep = np.nonzero(~rec.null[:t])[0] if cfg.skip_null else np.arange(t)
    codec = MineRLCodec()
    taken = [rec.actions[i] for i in keep]
    size = cfg.episode_frames or len(keep)
    for chunk, start in enumerate(range(0, len(keep), size)):
        idx = keep[start : start + size]
        acts = [noop_action(), *taken[start : start + len(idx) - 1]]  # actions[t] led to frame t
        n = len(idx)
        truth = _truth(rec, idx, cfg)
        meta = {
            "env_id": "vpt/contractor",
            "source": str(mp4),
            "source_frames": idx.tolist(),
            "seed": -1,
            "fps": cfg.fps,
            "policy": "human",
            "schema_version": SCHEMA_VERSION,
            "action_codec": codec.describe(),
            "import_config": asdict(cfg),
        }
        episode = Episode(
            frames=frames[idx],
            actions=np.stack([codec.encode(a) for a in acts]),
            raw_actions=[_jsonable(a) for a in acts],
            rewards=np.zeros(n, np.float32),
            terminated=np.zeros(n, bool),
            truth=truth,
            meta=meta,
        )
        record = {
            "frames": episode.frames,
            "actions": episode.actions,
            "truth": truth,
            "objects": [],
            "events": [],
            "meta": meta,
        }
        episode.captions = describe_minecraft(record, SCENE, cfg.prompt).to_dict()
        yield f"{episode_stem(mp4)}_{chunk:03d}", episode


def run(cfg: Config) -> None:
    from worldsim.data.store import EpisodeStore, write_episode

    if cfg.width < 1 or cfg.height < 1 or cfg.episode_frames < 0:
        raise ConfigError(
            f"need width, height >= 1 and episode_frames >= 0 (got {cfg.width}, {cfg.height}, "
            f"{cfg.episode_frames})"
        )
    pairs = recordings(cfg.src)  # a wrong src= is named before the store is made
    store = EpisodeStore(cfg.out, create=True)
    done = set(store.names())
    written = frames = 0
    for mp4, jsonl in pairs:
        if f"{episode_stem(mp4)}_000" in done:
            continue  # imported by an earlier run (its episodes enter the manifest together)
        entries = [write_episode(cfg.out, name, ep) for name, ep in build_episodes(mp4, jsonl, cfg)]
        store.add(entries)
        written += len(entries)
        frames += sum(e.length for e in entries)
    print(f"import-vpt: wrote {written} episodes ({frames} frames) -> {cfg.out}")
