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
    """How much real context the model sees and how far it imagines."""

    context: int = 5  # real pixel frames encoded (1 + time_factor j; fewer at the episode start)
    horizon: int = 2  # latent frames imagined per plan (time_factor pixel frames each)
    futures: int = 1  # imagined futures per plan (the consensus planner picks one of them)
    # classifier-free guidance scale of the prompt (1: the plain conditional model). On the
    # Crafter grid 4 beats 1 on wood, table and drink, and loses on cow (prompt_control RESULTS
    # section 10); the shipped Crafter model follows movement prompts in 61% of pairs at 1
    guidance: float = 4.0
    # what the guidance starts from: "event" (the prompt without its event sentences: only the
    # event is amplified, not the seeded movement sentence; the empty caption for a prompt
    # without one, as Push's) or "empty" (plain classifier-free guidance, the prompt dropped)
    contrast: str = "event"


@dataclass
class LikelihoodConfig:
    """How many candidate action sequences are imagined, and how their futures are scored."""

    candidates: int = 32  # action sequences imagined and scored per plan (N), in one batch
    steps: int = 4  # sampler steps of each imagined future (the model's default is 10)
    # noise levels scored, and draws per level (each shared by every candidate and both captions);
    # the 6th session's scorer was levels [0.5, 0.7, 0.9], 1 draw, contrast "empty"
    levels: list[float] = field(default_factory=lambda: [0.3, 0.5, 0.7, 0.9])
    draws: int = 2
    # what the prompt is compared against: "event" (the prompt without its event sentences, "The
    # player achieves ...": only the event's words are scored; prompt_control RESULTS section 5)
    # or "empty" (the empty caption: the heading, creature and daylight sentences count too)
    contrast: str = "event"


@dataclass
class ControlConfig:
    """The receding-horizon loop and the planner ablation."""

    imagine: ImagineConfig = field(default_factory=ImagineConfig)
    execute: int = 4  # actions of each plan executed before imagining again (m)
    futures: int = 4  # imagined futures of the consensus planner (N)
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)  # likelihood planner
    expand: bool = True  # policy `prompt` reads the expanded prompt (false: the prompt as typed)
    full_speed: bool = False  # continuous actions: run each IDM reading at full command, same way
    max_steps: int = 300  # env steps per episode
    batch: int = 16  # episodes of a cell played in lockstep, their plans imagined in one batch
    videos: int = 1000  # episodes per task x policy that get a video (the first seeds)
    fps: int = 10  # of the episode videos
    video: str = "mp4"  # mp4 | gif (needs no ffmpeg)
