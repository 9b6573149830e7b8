"""`worldsim sample mode=...`: generate videos with a trained world model and write them as mp4s.

Modes: the registry `worldsim.diffusion.modes.MODES` (text, image, image_to_video, extend_forward,
extend_backward, interpolate, loop, edit, rollout).
Inputs: `input=` a video/image file or an episode store directory (then `episode=` picks one, and
its actions condition the generation); `input2=` the second clip of `interpolate`.
The written video's known part is the true input frames, not their VAE reconstruction (`KEPT`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from worldsim.config import ConfigError
from worldsim.diffusion.sampling_config import (
    MODE_NAMES,
    GuidanceConfig,
    SamplerOverride,
    override_context_level,
    override_sampler,
    refuse_context,
    refuse_unread_prompt,
)

if TYPE_CHECKING:  # torch and the model are imported where a run needs them: --help stays fast
    import torch

    from worldsim.diffusion.modes import Mode, ModeInputs


@dataclass
class Config:
    """What to generate, from what, with which sampler and guidance."""

    ckpt: str = "runs/world_model/ema.ckpt"  # world model: checkpoint path, pretrained:NAME or URL
    # text | image | image_to_video | extend_forward | extend_backward | interpolate | loop | edit |
    # rollout (the MODES registry, worldsim/diffusion/modes.py)
    mode: str = "text"
    prompt: str = ""  # "" = the episode's caption when an episode is given
    input: str = ""  # video/image file, or episode store directory
    input2: str = ""  # second clip (interpolate); "" = the end of `input` itself
    episode: str = ""  # episode name in the `input` store ("" = the first)
    # episode name in the `input2` store ("" = `episode` when input2 is input's store, else its
    # first): both ends of an interpolation come from one episode unless asked otherwise
    episode2: str = ""
    context: int = 5  # pixel frames of the input used as context (1 + time_factor k)
    # env step of the input's first frame (of the generation's, without an input): a model told
    # the game clock (model.clock_period) counts on from it; an episode store's start at 0 (a
    # model told the actions' ages counts them from the input's first frame, whatever this is)
    first_step: int = 0
    frames: int = 32  # pixel frames to generate (rounded up to whole latent frames)
    height: int = 64  # size of text / image generations (pixels)
    width: int = 64  # see height
    strength: float = 0.6  # edit: noise level the input is pushed to
    samples: int = 1  # videos generated, each from its own noise
    # each sampler knob left null is the checkpoint's own (what it was trained and evaluated with)
    sampler: SamplerOverride = field(default_factory=SamplerOverride)
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)
    window: int = 8  # rollout: latent frames the model sees
    chunk: int = 1  # rollout: latent frames per step
    # continuations see their context at this noise level (Diffusion Forcing's stabilisation of
    # long rollouts; experiments/game_world_models/RESULTS.md sections 12 and 25; null: the
    # checkpoint's own)
    context_level: float | None = None
    seed: int = 0  # noise of the generation
    fps: int = 15  # frame rate of the written videos
    device: str = "auto"  # auto | cpu | cuda
    # the VAE to decode with instead of the world model's: for a file that bundles its VAE, a
    # decoder fine-tune of it (its encoder must be the bundled one's, else refused)
    autoencoder: str = ""
    out: str = "samples"  # directory of the videos
    strict: bool = True  # refuse an incomplete or corrupt input store (false: warn once)
    progress: bool = True  # show a progress bar over the denoising steps (with its ETA)


# The input frames each mode's video starts and ends with, written as given (the VAE's latents of
# them stay fixed while sampling, but decode to a reconstruction, not to the frames themselves):
# (first frames of `input`, last frames of `input2`, else of `input`); "context" = its `context`.
KEPT: dict[str, tuple[str, str]] = {
    "image_to_video": ("1", ""),
    "extend_forward": ("context", ""),
    "rollout": ("context", ""),
    "loop": ("1", ""),
    "extend_backward": ("", "context"),
    "interpolate": ("context", "context"),
}


def store_episode(names: list[str], episode: str, store: str | Path) -> str:
    """The episode to read of a store that lists `names` (never empty): `episode`, or its first
    when `episode` is empty; a name the store lacks is one line naming its episodes."""
    if episode and episode not in names:  # else the load's error sends one to `data verify`
        raise ConfigError(
            f"episode={episode} is not in store {store}; give one of its {len(names)} episodes "
            f"({names[0]} .. {names[-1]}) or leave episode empty for the first"
        )
    return episode or names[0]


def _read_input(
    path: str, episode: str, strict: bool = True
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Frames (T, H, W, 3) uint8, per-frame actions (T, A) or None, and a caption."""
    p = Path(path)
    if p.is_dir():
        from worldsim.data.store import EpisodeStore

        store = EpisodeStore(p)
        store.check(strict)
        names = store.names()
        if not names:
            raise ConfigError(
                f"episode store {p} is empty; pass input=FILE or a store with episodes"
            )
        ep = store.load(store_episode(names, episode, p))
        caption = ep.captions.get("prompt", "") if ep.captions else ""
        return np.asarray(ep.frames), np.asarray(ep.actions, np.float32), caption
    if not p.is_file():
        raise ConfigError(f"input '{path}' is neither a file nor an episode store directory")
    from worldsim.video import read_video

    try:
        return read_video(p), None, ""
    except Exception as err:  # a user's file that no video reader can parse, however it fails
        # (the failure's class says nothing to a user: a short text file gives struct's "error")
        raise ConfigError(
            f"input '{path}' is not a readable video: no video or image reader can decode it; "
            "give a video file (mp4, gif) or an episode store directory"
        ) from err


def _require_models(cfg: Config) -> None:
    """Refuse a VAE or world-model file that is not there before torch loads (seconds)."""
    from worldsim.models.pretrained import is_path, require_autoencoder, require_world_model

    local = cfg.autoencoder and is_path(cfg.autoencoder)  # pretrained:NAME and URLs resolve later
    if local and Path(cfg.autoencoder).is_dir():  # e.g. train-vae's out=
        raise ConfigError(
            f"autoencoder={cfg.autoencoder} is a folder; give the VAE checkpoint file (train-vae "
            "writes <its out>/vae.ckpt)"
        )
    if local and not Path(cfg.autoencoder).is_file():
        raise ConfigError(f"autoencoder={cfg.autoencoder}: no such file; give a VAE checkpoint")
    if cfg.autoencoder and not local:
        require_autoencoder(cfg.autoencoder)  # e.g. a pretrained:NAME that is not shipped
    require_world_model(cfg.ckpt)


def _load(cfg: Config):
    """The world model on its device, with a readable autoencoder."""
    from worldsim.jobs.encode import resolve_device
    from worldsim.training.world_model import load_world_model

    module = load_world_model(cfg.ckpt, resolve_device(cfg.device))
    if cfg.autoencoder:
        module.use_autoencoder(cfg.autoencoder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the error below says it in one line
        readable = module.autoencoder() is not None
    if not readable:
        raise ConfigError(
            f"world model {cfg.ckpt} has no readable autoencoder; pass autoencoder=PATH"
        )
    return module


def _encoder(module, video: np.ndarray, n: int):
    """Pixel frames `video[frames]` (T, H, W, 3) uint8 -> normalised latents, batch of n."""
    from einops import rearrange

    from worldsim.data.pixels import pixels_to_unit
    from worldsim.models.latents import encode_video

    def encode(frames: slice) -> torch.Tensor:
        clip = rearrange(pixels_to_unit(video[frames]), "t h w c -> 1 t c h w").to(module.device)
        return module.normalise(encode_video(module.autoencoder(), clip)).expand(n, -1, -1, -1, -1)

    return encode


def _latent_actions(module, actions: np.ndarray | None, n: int):
    """latent_frames -> the input's actions per latent frame (n, T', A'), or None."""
    import torch

    def grouped(latent_frames: int) -> torch.Tensor | None:
        if actions is None or not module.model_cfg.action_dim:
            return None
        out = module.latent_actions(torch.tensor(actions)[None], latent_frames)  # (1, T', A')
        return out.expand(n, -1, -1)

    return grouped


def _inputs(
    cfg: Config, module, mode: Mode
) -> tuple[ModeInputs, str, tuple[np.ndarray, np.ndarray] | None]:
    """The mode's inputs from the config (input files encoded on demand), the input's caption,
    and the true frames the video starts and ends with (`KEPT`; None without an input)."""
    from worldsim.diffusion.modes import ModeInputs

    vae, tf, n, device = (
        module.autoencoder(),
        module.latent_info.time_factor,
        cfg.samples,
        module.device,
    )
    frames, actions, caption = (None, None, "")
    if cfg.input:
        frames, actions, caption = _read_input(cfg.input, cfg.episode, cfg.strict)
    if mode.needs_input and frames is None:
        raise ConfigError(f"mode {cfg.mode} needs input=VIDEO|IMAGE|STORE")
    # the modes that start (or end) from `context` input frames take them all, or refuse
    reads_context = "context" in KEPT.get(cfg.mode, ())
    given = len(frames) if reads_context and frames is not None else None
    refuse_context(cfg.context, tf, given, f"input={cfg.input}")

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
        actions=_latent_actions(module, actions, n),
        strength=cfg.strength,
        window=cfg.window,
        chunk=cfg.chunk,
        clocked=bool(module.model_cfg.clock_period),
        first_step=cfg.first_step,
    )
    if frames is None:
        return inputs, caption, None
    inputs.frames = len(frames)
    inputs.context = min(cfg.context, 1 + (len(frames) - 1) // tf * tf)
    inputs.encode = _encoder(module, frames, n)
    second = frames
    if cfg.input2:
        same_store = Path(cfg.input2).resolve() == Path(cfg.input).resolve()
        episode2 = cfg.episode2 or (cfg.episode if same_store else "")
        second = _read_input(cfg.input2, episode2, cfg.strict)[0]
        refuse_context(
            cfg.context, tf, len(second) if reads_context else None, f"input2={cfg.input2}"
        )
        inputs.encode_second = _encoder(module, second, n)
    counts = {"": 0, "1": 1, "context": inputs.context}
    head, tail = (counts[k] for k in KEPT.get(cfg.mode, ("", "")))
    return inputs, caption, (frames[:head], second[len(second) - tail :])


def keep_true_frames(
    video: np.ndarray, kept: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W, 3) uint8 `video` with its first and last frames replaced by the true input
    frames `kept` (head, tail) that they decode, and (T,) bool: which frames those are."""
    known = np.zeros(len(video), bool)
    if kept is None:
        return video, known
    head, tail = kept
    video = video.copy()
    for frames, at in ((head, slice(None, len(head))), (tail, slice(len(video) - len(tail), None))):
        video[at], known[at] = frames, True
    return video, known


STRIP_FRAMES = 12  # at most this many frames in the PNG strip written beside each video


def _write(cfg: Config, mode: Mode, videos: np.ndarray, kept) -> None:
    """Each (T, 3, H, W) video in [-1, 1] as an mp4 (a png for an image), its known part the
    true input frames `kept`; beside it a PNG strip of every k-th frame, lossless and viewable
    where no video player is (a terminal, an issue thread)."""
    from PIL import Image

    from worldsim.video import save_frame_strip, strip_picks, to_uint8, write_video

    out = Path(cfg.out)
    for i, video in enumerate(videos):
        if mode.image:
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"image_{i:02d}.png"
            Image.fromarray(to_uint8(video)[0]).save(path)
            print(f"sample: {cfg.mode} -> {path}")
            continue
        frames, known = keep_true_frames(to_uint8(video), kept)  # (T, H, W, 3), (T,)
        path = write_video(out / f"{cfg.mode}_{i:02d}.mp4", frames, fps=cfg.fps)
        every = -(-len(frames) // STRIP_FRAMES)
        strip = save_frame_strip([frames], path.with_suffix(".png"), every, known)
        shown = len(range(len(frames))[strip_picks(every, known)])
        legend = "green under the input's frames, grey under" if known.any() else "grey: all"
        print(
            f"sample: {cfg.mode} -> {path}; {shown} of its frames in a strip -> {strip} "
            f"({legend} the generated)"
        )


def run(cfg: Config) -> None:
    from worldsim.jobs.pipeline import refuse_data_dir
    from worldsim.training.world_model_config import SampleConfig

    refuse_data_dir("sample", cfg.out, writes="videos")
    if cfg.mode not in MODE_NAMES:
        raise ConfigError(f"mode '{cfg.mode}' unknown; choose one of {', '.join(MODE_NAMES)}")
    if cfg.episode2 and not cfg.input2:
        raise ConfigError(f"episode2={cfg.episode2} names an episode of input2=, which is not set")
    # built before the model loads, so that a bad context_level is refused first; its sampler
    # is the checkpoint's, with the command line's knobs, once the model is loaded
    sample = SampleConfig(
        guidance=cfg.guidance,
        window=cfg.window,
        chunk=cfg.chunk,
        context_level=cfg.context_level or 0.0,  # null (the checkpoint's) is set below
    )
    _require_models(cfg)
    import torch

    from worldsim.diffusion.modes import MODES
    from worldsim.progress_bar import progress_bar

    mode = MODES[cfg.mode]
    module = _load(cfg)
    refuse_unread_prompt(cfg.prompt, module.model_cfg.text_dim, cfg.ckpt)
    sample.sampler, origin = override_sampler(module.sample_cfg.sampler, cfg.sampler)
    trained = module.sample_cfg.context_level
    sample.context_level, level_origin = override_context_level(trained, cfg.context_level)
    print(f"sample: {origin}; {level_origin}")
    inputs, caption, kept = _inputs(cfg, module, mode)
    runner = module.mode_runner([cfg.prompt or caption] * cfg.samples, cfg.seed, sample)
    steps = sample.sampler.steps * mode.samplings(inputs)
    # drawn from its first step on (delay): a mode that refuses its inputs prints no bar
    bar = progress_bar(
        total=steps, desc=f"sample {cfg.mode}", unit="step", disable=not cfg.progress, delay=0.1
    )
    with bar, torch.no_grad():
        runner.sampler.on_step = bar.update
        try:
            latents = mode.run(runner, inputs)
        except ValueError as err:  # a knob the mode refuses first: rollout's chunk, edit's strength
            raise ConfigError(str(err)) from err
        videos = module.decode(latents).float().cpu().numpy()  # (n, T, 3, H, W)
    _write(cfg, mode, videos, kept)
