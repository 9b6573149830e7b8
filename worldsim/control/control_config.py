"""The control loop's knobs and policy names, apart from the loop: `worldsim control --help` and
its config errors read them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass, field

LIKELIHOOD = ("likelihood", "likelihood_no_prompt")
IMAGINING = ("prompt", "short_prompt", "no_prompt", "consensus", *LIKELIHOOD)
POLICIES = (*IMAGINING, "random", "scripted")
CONTRASTS = ("empty", "event")  # what a prompt is compared against (see prompts.contrast_caption)


@dataclass
class ImagineConfig:
    """How much real context the model sees, how far it imagines, and how hard the prompt steers.

    The guidance defaults are the Crafter grid's best (prompt_control RESULTS section 10: scale 4
    beats 1 on wood, table and drink, loses on cow). The event contrast amplifies only "The player
    achieves ...", not the seeded movement sentence, which knows nothing of the scene; a prompt
    without an event sentence (Push's) is guided from the empty caption. `shared_scale` 0 gives
    the sentences beside the event no weight at all: guidance then starts from the empty caption
    and adds only the event's difference.
    """

    context: int = 5  # real pixel frames encoded (1 + time_factor j; fewer at the episode start)
    horizon: int = 2  # latent frames imagined per plan (time_factor pixel frames each)
    futures: int = 1  # imagined futures per plan (the consensus planner picks one of them)
    guidance: float = 4.0  # the prompt's classifier-free guidance scale (1: no guidance)
    contrast: str = "event"  # guide from: event (the prompt minus its event sentence) | empty
    shared_scale: float = 1.0  # contrast=event: weight of the sentences beside the event (0: none)


@dataclass
class LikelihoodConfig:
    """How many candidate action sequences are imagined, and how their futures are scored."""

    candidates: int = 32  # action sequences imagined and scored per plan (N), in one batch
    steps: int = 4  # sampler steps of each imagined future (the model's default is 10)
    levels: list[float] = field(default_factory=lambda: [0.3, 0.5, 0.7, 0.9])  # noise levels scored
    draws: int = 2  # noise draws per level, each shared by every candidate and both captions
    contrast: str = "event"  # prompt scored against: event (itself minus its event) | empty


@dataclass
class ControlConfig:
    """The receding-horizon loop and the planner ablation."""

    imagine: ImagineConfig = field(default_factory=ImagineConfig)
    execute: int = 4  # actions of each plan executed before imagining again (m)
    futures: int = 4  # imagined futures of the consensus planner (N)
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)  # likelihood planner
    expand: bool = True  # policy `prompt` reads the expanded prompt (false: the prompt as typed)
    heading: bool = True  # the expanded Crafter prompt names a movement, drawn by the episode seed
    # the expanded eat-cow prompt says "The player hits a cow.": for a model trained on episodes
    # recorded with env.kwargs.hits=true (envs/crafter/env.py); off until a grid measures it
    hits: bool = False
    full_speed: bool = False  # continuous actions: run each IDM reading at full command, same way
    max_steps: int = 300  # env steps per episode
    batch: int = 16  # episodes of a cell played in lockstep, their plans imagined in one batch
    videos: int = 1000  # episodes per task x policy that get a video (the first seeds)
    fps: int = 10  # frames per second of the episode videos
    video: str = "mp4"  # mp4 | gif (needs no ffmpeg)
