"""The `worldsim` command line: `worldsim CMD [file.yaml ...] [group=name] [key=value ...]`.

Each job command is one module `worldsim/jobs/<cmd>.py` holding its schema `Config` and
`run(cfg)`; this file only parses arguments and turns known errors into one-line messages.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from omegaconf import OmegaConf

from worldsim.config import ConfigError, load_config, to_object
from worldsim.data.episode import EpisodeError

JOBS = {
    "record": "record episodes from an env into an episode store (alias: rollout)",
    "train-vae": "train the causal video autoencoder on an episode store",
    "encode": "encode an episode store into a latent cache",
    "decode": "decode a latent cache back to mp4/gif videos",
    "train": "train the spacetime DiT world model on a latent cache",
    "sample": "generate videos with a trained world model (mode=...)",
    "eval": "score a model or baseline with the eval suites",
    "quickstart": "the whole harness end to end at a small size",
    "import-vpt": "import OpenAI VPT/MineRL contractor recordings (mp4 + jsonl) into a store",
}
ALIASES = {"rollout": "record"}  # old name of `record`, kept so existing scripts still run
DATA_VERBS = ("info", "verify", "preview")

USAGE = f"""usage: worldsim CMD [file.yaml ...] [group=name] [key=value ...]

jobs:
{chr(10).join(f"  {name:<11} {text}" for name, text in JOBS.items())}

other:
  config show CMD [args]   print the merged config of CMD
  data info DIR            episodes, frames, resolutions, envs of a store
  data verify DIR          check every episode against its checksum and the schema
  data preview DIR [out=F] [episodes=N]   mp4/gif grid of a few episodes with captions
"""


def job_module(command: str) -> ModuleType:
    """The module implementing job `command`."""
    command = ALIASES.get(command, command)
    if command not in JOBS:
        raise ConfigError(f"unknown command '{command}'; commands: {', '.join(JOBS)}, config, data")
    return importlib.import_module(f"worldsim.jobs.{command.replace('-', '_')}")


def _run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, args = argv[0], argv[1:]
    if command == "config":
        if len(args) < 2 or args[0] != "show":
            raise ConfigError("usage: worldsim config show CMD [file.yaml ...] [key=value ...]")
        cfg = load_config(job_module(args[1]).Config, args[2:])
        print(OmegaConf.to_yaml(cfg), end="")
        return 0
    if command == "data":
        if len(args) < 2 or args[0] not in DATA_VERBS:
            raise ConfigError(
                f"usage: worldsim data {{{'|'.join(DATA_VERBS)}}} DIR [key=value ...]"
            )
        from worldsim.data import commands

        return getattr(commands, args[0])(args[1], args[2:])
    module = job_module(command)
    cfg = load_config(module.Config, args)
    module.run(to_object(cfg))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `worldsim` console script."""
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except (ConfigError, EpisodeError, FileNotFoundError) as err:
        print(f"worldsim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "worldsim: interrupted; finished work is kept, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
