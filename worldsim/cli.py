"""The `worldsim` command line: `worldsim CMD [file.yaml ...] [group=name] [key=value ...]`.

Jobs are registered in `worldsim/jobs/__init__.py`; this file only parses arguments and turns
known errors into one-line messages.
"""

from __future__ import annotations

import sys

from omegaconf import OmegaConf

from envs.make import EnvConfigError
from worldsim.config import ConfigError, load_config, to_object
from worldsim.data import commands
from worldsim.data.episode import EpisodeError
from worldsim.jobs import JOBS, job_module

DATA_VERBS = ("info", "verify", "preview")

USAGE = f"""usage: worldsim CMD [file.yaml ...] [group=name] [key=value ...]

jobs:
{chr(10).join(f"  {name:<11} {job.help}" for name, job in JOBS.items())}

other:
  config show CMD [args]   print the merged config of CMD
  data info DIR            episodes, frames, resolutions, envs of a store (or a latent cache)
  data verify DIR          check every episode (and a latent cache's text table) against its
                           checksum; rebuild=true re-derives an episode store's manifest
  data preview DIR [out=F] [episodes=N]   mp4/gif grid of a few episodes with captions
"""


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
        return getattr(commands, args[0])(args[1], args[2:])
    module = job_module(command)
    cfg = load_config(module.Config, getattr(module, "cli_args", list)(args))  # positional words
    module.run(to_object(cfg))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `worldsim` console script."""
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except (ConfigError, EnvConfigError, EpisodeError, FileNotFoundError) as err:
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
