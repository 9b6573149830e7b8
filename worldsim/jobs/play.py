"""`worldsim play`: play a trained world model with the keyboard, or headless from an action file.

Interactive: a local web page (http://HOST:PORT) streams the generated frames and sends the keys
back; it shows the live fps and the latency from action to frames. Headless (`headless=true
actions=FILE`): the same loop steps through the file's actions (one per line, a name or an
index, each held for one latent frame) and writes `play.mp4` and `latency.json` (per-step
latency) under `out`. The start frames and the action names come from an episode store
(`input=`) or a reset of the env (`env=`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.make import EnvConfig
from worldsim.config import ConfigError
from worldsim.diffusion.sampling_config import (
    SamplerOverride,
    override_context_level,
    override_sampler,
    refuse_context,
    refuse_unread_prompt,
)


@dataclass
class Config:
    """Which model, from which start, with which sampling, interactive or headless."""

    ckpt: str = "pretrained:crafter"  # world model: a checkpoint path, pretrained:NAME or a URL
    env: EnvConfig = field(
        default_factory=lambda: EnvConfig(id="worldsim/CrafterReward-v0", kwargs={})
    )  # start frame and actions when input is ""
    input: str = ""  # episode store: its episode's first frames and action names
    episode: str = ""  # episode name in the `input` store ("" = the first)
    context: int = 1  # start frames (pixel frames, 1 + time_factor k)
    prompt: str = ""  # "" = the episode's caption when input is a store
    actions: str = ""  # headless action file: one action name or index per line
    headless: bool = False  # step through `actions`, write play.mp4 + latency.json, no page
    # each sampler knob left null is the checkpoint's own (what it was trained and evaluated with)
    sampler: SamplerOverride = field(default_factory=SamplerOverride)
    window: int = 8  # latent frames the model sees: the new one and window - 1 of context
    # context shown at this noise level (long sessions: game RESULTS 12, 25; null: the checkpoint's)
    context_level: float | None = None
    kv_cache: bool = True  # reuse the context's keys/values (frame-causal models)
    cuda_graphs: bool = True  # replay each denoising of one latent frame as a CUDA graph (GPU)
    bf16: bool = True  # on a GPU: the DiT in bf16 weights, the VAE under bf16 autocast
    seed: int = 0  # noise of the generation
    fps: int = 15  # display rate of the page and of play.mp4
    host: str = "127.0.0.1"  # address the page is served on (0.0.0.0: reachable by others)
    port: int = 8765  # port of the page
    out: str = "runs/play"  # headless: play.mp4 and latency.json
    device: str = "auto"  # auto | cpu | cuda


def _start(cfg: Config) -> tuple[np.ndarray, dict, str]:
    """Start frames (T, H, W, 3) uint8, the action codec's description, and a caption."""
    if cfg.input:
        from worldsim.data.store import EpisodeStore
        from worldsim.jobs.sample import store_episode

        if not Path(cfg.input).is_dir():
            raise ConfigError(f"input '{cfg.input}' is not an episode store directory")
        store = EpisodeStore(cfg.input)
        names = store.names()
        if not names:
            raise ConfigError(
                f"episode store {cfg.input} is empty; give input= a store with episodes, or "
                "leave input empty to start from a reset of env="
            )
        ep = store.load(store_episode(names, cfg.episode, cfg.input))
        width = ep.actions.shape[1]  # a store without a codec record: its actions as box axes
        codec = ep.meta.get("action_codec") or {
            "type": "box",
            "dim": width,
            "names": [f"a{i}" for i in range(width)],
        }
        caption = ep.captions.get("prompt", "") if ep.captions else ""
        return np.asarray(ep.frames[: cfg.context]), codec, caption
    from envs.make import make_env

    env = make_env(cfg.env)
    obs, _ = env.reset(seed=cfg.seed)
    codec = env.unwrapped.action_codec.describe()
    env.close()
    return np.asarray(obs)[None], codec, ""


def _session(cfg: Config, start: np.ndarray, caption: str):
    from worldsim.interactive import Session
    from worldsim.jobs.encode import resolve_device
    from worldsim.training.world_model import load_world_model

    module = load_world_model(cfg.ckpt, resolve_device(cfg.device))
    if module.autoencoder() is None:
        raise ConfigError(f"world model {cfg.ckpt} has no readable autoencoder")
    refuse_unread_prompt(cfg.prompt, module.model_cfg.text_dim, cfg.ckpt)
    # `start` is the first `context` frames of the episode, or the one frame of an env's reset
    source = (
        f"input={cfg.input}" if cfg.input else f"a reset of env={cfg.env.id} (give input=STORE)"
    )
    refuse_context(cfg.context, module.latent_info.time_factor, len(start), source)
    level, level_origin = override_context_level(module.sample_cfg.context_level, cfg.context_level)
    sample = dataclasses.replace(module.sample_cfg, window=cfg.window, context_level=level)
    sample.sampler, origin = override_sampler(module.sample_cfg.sampler, cfg.sampler)
    print(f"play: {origin}; {level_origin}")
    if sample.window < 2:
        raise ConfigError(f"window={sample.window} must be >= 2 (context + the new frame)")
    return Session(
        module,
        start,
        sample,
        cfg.prompt or caption,
        cfg.kv_cache,
        cfg.cuda_graphs,
        cfg.bf16,
        cfg.seed,
    )


def _headless(cfg: Config, session, table: dict[str, np.ndarray], script: list[str]) -> None:
    from worldsim.data.manifest import atomic_write
    from worldsim.video import write_video

    frames = np.concatenate([session.step(table[name]) for name in script])  # (T, H, W, 3)
    out = Path(cfg.out)
    video = write_video(out / "play.mp4", frames, fps=cfg.fps)
    report = {
        "ckpt": cfg.ckpt,
        "actions": script,
        "sampler_steps": session.runner.sampler.steps,
        "window": session.window,
        "kv_cache": session.runner.kv_cache,
        "cuda_graphs": session.runner.continuation.replaying,  # in effect, not the knob
        "device": str(session.module.device),
        **session.times.summary(session.tf),
        "latency_ms": [s * 1e3 for s in session.times.seconds],
    }
    with atomic_write(out / "latency.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"play: {len(script)} steps, {report['video_fps']:.1f} video fps, "
        f"{report['latency_ms_p50']:.0f} ms p50 -> {video}, {out / 'latency.json'}"
    )


def run(cfg: Config) -> None:
    from worldsim.jobs.pipeline import refuse_data_dir
    from worldsim.models.pretrained import require_world_model

    if not 0 < cfg.port < 65536:
        raise ConfigError(f"port={cfg.port}: give a TCP port from 1 to 65535 (default 8765)")
    if cfg.headless and not cfg.actions:
        raise ConfigError("headless=true needs actions=FILE (one action name or index per line)")
    if cfg.headless:
        refuse_data_dir("play", cfg.out, writes="play.mp4 and latency.json")
    if cfg.actions and not Path(cfg.actions).is_file():
        raise ConfigError(f"action file '{cfg.actions}' not found")
    require_world_model(cfg.ckpt)  # before the imports below load torch (seconds)
    from worldsim.data.actions import check_action_width
    from worldsim.interactive import action_table, key_map, read_action_file

    start, codec, caption = _start(cfg)
    table, noop = action_table(codec)
    script = []
    if cfg.headless:
        try:
            script = read_action_file(cfg.actions, table)
        except ValueError as err:
            raise ConfigError(str(err)) from err
    session = _session(cfg, start, caption)
    check_action_width(session.module, next(iter(table.values())).shape[-1], cfg.ckpt, cfg.env.id)
    if cfg.headless:
        _headless(cfg, session, table, script)
        return
    from worldsim.interactive_web import Player, web_app

    keys = key_map(list(table), noop)
    player = Player(session, table, noop)
    player.start()
    print(f"play: open http://{cfg.host}:{cfg.port} (keys: {keys})")
    web_app(player, keys, cfg.fps).run(cfg.host, cfg.port, threaded=True)
    player.stopped.set()
