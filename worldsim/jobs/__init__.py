"""The job registry: each `worldsim CMD` is a module here with its schema `Config` and `run(cfg)`.

Add a job by writing `worldsim/jobs/<name>.py` and one line in `JOBS`; the CLI, `config show`
and the pipelines find it here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from worldsim.config import ConfigError


@dataclass(frozen=True)
class Job:
    module: str  # module in worldsim/jobs/ with `Config` and `run(cfg)`
    help: str  # one line for `worldsim --help`


JOBS = {
    "record": Job("record", "record episodes from an env into an episode store"),
    "rollout": Job("record", "alias of `record` (its old name), same job and arguments"),
    "train-vae": Job("train_vae", "train the causal video autoencoder on an episode store"),
    "encode": Job("encode", "encode an episode store into a latent cache"),
    "embed-text": Job(
        "embed_text", "embed caption sentences into a text table for the latent cache"
    ),
    "decode": Job("decode", "decode a latent cache back to mp4/gif videos"),
    "train": Job("train", "train the spacetime DiT world model on a latent cache"),
    "export": Job("export", "a trained world model -> one shippable fp16 file with its VAE"),
    "sample": Job("sample", "generate videos with a trained world model (mode=...)"),
    "play": Job("play", "play a world model with the keyboard (web page) or an action file"),
    "eval": Job("eval", "score a model or baseline with the eval suites"),
    "control": Job("control", "zero-shot control of a real env from a text prompt, measured"),
    "bench": Job("bench", "the versioned benchmark: bench run|export|score|compare|leaderboard"),
    "quickstart": Job("quickstart", "the whole harness end to end at a small size"),
    "pipeline": Job("pipeline", "run an experiment YAML's stages in order, reusing finished ones"),
    "import-vpt": Job(
        "import_vpt", "import OpenAI VPT/MineRL contractor recordings (mp4 + jsonl) into a store"
    ),
}


def config_args(module: ModuleType, args: list[str]) -> list[str]:
    """What `--help` and `config show` build job `module`'s config from: `args` through its
    `cli_args` (bench's positional words, train-vae's CPU defaults), as a run would; without
    arguments a job that needs words (bench) shows its plain defaults."""
    try:
        return getattr(module, "cli_args", list)(args)
    except ConfigError:
        if args:
            raise
        return []


def job_module(command: str) -> ModuleType:
    """The module implementing job `command`."""
    if command not in JOBS:
        raise ConfigError(f"unknown command '{command}'; commands: {', '.join(JOBS)}, config, data")
    return importlib.import_module(f"worldsim.jobs.{JOBS[command].module}")
