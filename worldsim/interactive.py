"""Playing a world model: one action in, the next latent frame's `time_factor` video frames out.

`Session` keeps the last `window - 1` latent frames and their actions, generates one latent frame
per action (KV cache of the context and CUDA graphs where the model allows) and decodes only that
frame, streaming through the causal VAE (its per-layer cache of past frames): the same pixels as
decoding the whole generated video at once, at the cost of one latent frame.
`action_table` names the env's actions (codec vectors) and `key_map` binds keyboard keys to them;
`worldsim play` drives a session from the keyboard (a local web page) or a scripted action file.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from einops import rearrange

from worldsim.data.pixels import pixels_to_unit
from worldsim.diffusion.modes import ModeRunner
from worldsim.diffusion.samplers import make_sampler
from worldsim.models.autoencoder import StreamCache
from worldsim.models.latents import encode_video
from worldsim.training.world_model import SampleConfig, WorldModel
from worldsim.video import to_uint8

# Keys tried first for actions of these names (Crafter, ViZDoom); the rest get FALLBACK_KEYS.
PREFERRED_KEYS = {
    "ArrowUp": ("move_up", "forward"),
    "ArrowDown": ("move_down", "backward"),
    "ArrowLeft": ("move_left", "turn_left"),
    "ArrowRight": ("move_right", "turn_right"),
    " ": ("do", "attack"),
}
FALLBACK_KEYS = "1234567890qwertyuiopasdfghjklzxcvbnm"


def action_table(codec: dict) -> tuple[dict[str, np.ndarray], str]:
    """Named actions -> codec vectors (A,), and the name of the no-op, from a codec's `describe()`:
    a discrete codec's actions one-hot, a box codec's axes at +1 and -1 (`name+`, `name-`)."""
    dim = codec["dim"]
    if codec["type"] == "discrete":
        table = {name: np.eye(dim, dtype=np.float32)[i] for i, name in enumerate(codec["names"])}
        return table, codec["names"][codec.get("noop", 0)]
    table = {"noop": np.zeros(dim, np.float32)}
    for i, name in enumerate(codec["names"]):
        for sign, suffix in ((1.0, "+"), (-1.0, "-")):
            table[f"{name}{suffix}"] = np.eye(dim, dtype=np.float32)[i] * sign
    return table, "noop"


def key_map(names: list[str], noop: str) -> dict[str, str]:
    """Keyboard key (a browser `KeyboardEvent.key`) -> action name, for every action but the no-op
    (what plays while no key is held)."""
    keys: dict[str, str] = {}
    for key, wanted in PREFERRED_KEYS.items():
        match = next((n for n in wanted if n in names), None)
        if match:
            keys[key] = match
    rest = [n for n in names if n != noop and n not in keys.values()]
    keys.update(zip(FALLBACK_KEYS, rest))
    return keys


def read_action_file(path: str, table: dict[str, np.ndarray]) -> list[str]:
    """Action names, one per line (a name or its index in `table`); blank lines and # comments
    skipped."""
    names, steps = list(table), []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            word = line.split("#")[0].strip()
            if not word:
                continue
            if word.isdigit() and int(word) < len(names):
                word = names[int(word)]
            if word not in table:
                raise ValueError(
                    f"{path}:{number}: unknown action '{word}'; actions: {', '.join(names)}"
                )
            steps.append(word)
    if not steps:
        raise ValueError(f"{path} holds no action: write one action name or index per line")
    return steps


PHASES = ("denoise", "decode", "to_host")  # a step's parts, in order (StepTimes.phases)


@dataclass
class StepTimes:
    """Wall seconds of every step, action in to decoded frames out (device synchronised), and of
    its PHASES: where the host was held. On CUDA a phase ends when its kernels are queued or when
    one of its operations waits for the device (`to_host` always does), so a phase's time is not
    its device time: at 128 px `decode` also holds the denoising's tail (benchmarks/README.md)."""

    seconds: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PHASES})

    def add(self, marks: list[float]) -> None:
        """One step from its len(PHASES) + 1 perf_counter marks (start, then each phase's end)."""
        self.seconds.append(marks[-1] - marks[0])
        for name, began, ended in zip(PHASES, marks, marks[1:]):
            self.phases[name].append(ended - began)

    def summary(self, frames_per_step: int, skip: int = 1) -> dict:
        """Latency percentiles (ms) and video fps, leaving out the first `skip` steps (warm-up,
        CUDA-graph capture); each phase's p50 and p90 (ms)."""
        s = np.array(self.seconds[skip:] or self.seconds)
        phases = {}
        for name, values in self.phases.items():
            v = np.array(values[skip:] or values or [np.nan]) * 1e3
            phases[name] = {"p50": float(np.percentile(v, 50)), "p90": float(np.percentile(v, 90))}
        return {
            "timed_steps": len(self.seconds),
            "skipped_warmup_steps": len(self.seconds) - len(s),
            "latency_ms_mean": float(s.mean() * 1e3),
            "latency_ms_p50": float(np.percentile(s, 50) * 1e3),
            "latency_ms_p90": float(np.percentile(s, 90) * 1e3),
            "latency_ms_max": float(s.max() * 1e3),
            "video_fps": float(frames_per_step / s.mean()),
            "phase_ms": phases,
        }


class Session:
    """A world model played one latent frame per action from start frames (T, H, W, 3) uint8."""

    def __init__(
        self,
        module: WorldModel,
        start: np.ndarray,
        sample: SampleConfig,
        prompt: str = "",
        kv_cache: bool = True,
        cuda_graphs: bool = False,
        bf16: bool = True,
        seed: int = 0,
        first_step: int = 0,
    ):
        """`first_step`: the env step of start[0] (a model told the clock counts on from it)."""
        self.module, self.window = module, sample.window
        self.tf = module.latent_info.time_factor
        self.action_dim = module.model_cfg.action_dim
        # the pixel frames' actions held so far (1, tf k, A), as many as `model.action_ages` reads
        self.pressed: torch.Tensor | None = None
        self.kept = self.tf * (1 + -(-module.model_cfg.action_ages // self.tf))
        device = module.device
        if bf16 and device.type == "cuda":
            # the DiT's weights cast once (inference only): no per-call autocast casts to replay
            module.model.to(torch.bfloat16)
        self.autocast = (  # for the VAE
            torch.autocast("cuda", torch.bfloat16)
            if bf16 and device.type == "cuda"
            else nullcontext()
        )
        used = 1 + (len(start) - 1) // self.tf * self.tf  # the VAE encodes 1 + tf k frames
        clip = rearrange(pixels_to_unit(start[-used:]), "t h w c -> 1 t c h w")
        self.vae, self.stream = module.autoencoder(), StreamCache()
        with torch.no_grad():
            z = module.normalise(encode_video(self.vae, clip.to(device)))  # (1, T', c, h, w)
            for part in (z[:, :1], z[:, 1:]):  # the decoder's state after the start frames
                if part.shape[1]:
                    self._decode(part)
        self.latents = z[:, -(self.window - 1) :]
        # (1, T') the latents' env steps (None for a model not told the clock)
        self.clock = module.clock(first_step + len(start) - used, z.shape[1])
        if self.clock is not None:
            self.clock = self.clock[None, -self.latents.shape[1] :]
        self.actions: torch.Tensor | None = None  # (1, T', action_dim) once the first action comes
        self.runner = ModeRunner(
            module.model,
            make_sampler(sample.sampler),
            sample.guidance,
            module.encode_text([prompt]),
            seed,
            kv_cache=kv_cache,
            cuda_graphs=cuda_graphs,
            context_level=sample.context_level,
        )
        self.times = StepTimes()

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised latents (1, t, c, h, w) following those decoded so far -> (tf t, 3, H, W)."""
        latents = rearrange(self.module.denormalise(z).float(), "b t c h w -> b c t h w")
        video = self.vae.decoder(latents, self.stream).clamp(-1, 1)  # (1, 3, tf t, H, W)
        return rearrange(video, "b c t h w -> b t c h w")[0]

    def _row(self, action: np.ndarray) -> torch.Tensor:
        """(1, 1, A'): `action` (A,) held for the tf video frames of one latent frame, with
        `model.action_ages` its ages over the actions held since the session began."""
        held = torch.from_numpy(action).float().expand(1, self.tf, -1)  # (1, tf, A)
        past = held[:, :0] if self.pressed is None else self.pressed
        self.pressed = torch.cat([past, held], dim=1)[:, -self.kept :]  # (1, tf k, A)
        # grouped as an episode is, after a first frame of no action
        seq = torch.cat([held.new_zeros(1, 1, held.shape[-1]), self.pressed], dim=1)
        return self.module.latent_actions(seq, 1 + self.pressed.shape[1] // self.tf)[:, -1:]

    @torch.no_grad()
    def step(self, action: np.ndarray) -> np.ndarray:
        """Codec vector (A,) -> the next tf video frames (tf, H, W, 3) uint8."""
        marks = [time.perf_counter()]
        acts = None
        if self.action_dim:
            row = self._row(action)
            past = (
                row.expand(1, self.latents.shape[1], -1) if self.actions is None else self.actions
            )
            acts = torch.cat([past, row], dim=1)  # unknown start actions: the first one held
        clock = None
        if self.clock is not None:  # the new frame ends tf steps after the last
            clock = torch.cat([self.clock, self.clock[:, -1:] + self.tf], dim=1)
        seq = self.runner.extend_forward(self.latents, 1, acts, clock)
        marks.append(time.perf_counter())
        with self.autocast:
            video = self._decode(seq[:, -1:])  # (tf, 3, H, W)
        marks.append(time.perf_counter())
        frames = to_uint8(video.float().cpu().numpy())  # to the host: the step is finished
        self.latents = seq[:, -(self.window - 1) :]
        self.actions = None if acts is None else acts[:, -(self.window - 1) :]
        self.clock = None if clock is None else clock[:, -(self.window - 1) :]
        self.times.add(marks + [time.perf_counter()])
        return frames
