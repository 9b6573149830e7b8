"""The `worldsim` command line: `worldsim CMD [file.yaml ...] [group=name] [key=value ...]`.

Jobs are registered in `worldsim/jobs/__init__.py`; this file only parses arguments and turns
known errors into one-line messages.
"""

from __future__ import annotations

import os
import sys

from envs.make import EnvConfigError
from worldsim.config import ConfigError, JobFailed, check_out, load_config, to_object
from worldsim.data import commands
from worldsim.data.episode import EpisodeError
from worldsim.help import command_help, commented_yaml, data_help
from worldsim.jobs import JOBS, config_args, job_module

HELP = ("-h", "--help")
CONFIG_USAGE = "usage: worldsim config show CMD [file.yaml ...] [key=value ...]"

USAGE = f"""usage: worldsim CMD [file.yaml ...] [group=name] [key=value ...]

jobs:
{chr(10).join(f"  {name:<11} {job.help}" for name, job in JOBS.items())}

other:
  CMD --help, help CMD     a command's purpose, knobs (type, default, meaning) and examples
  config show CMD [args]   print the merged config of CMD, each key with its meaning
  data info DIR            episodes, frames, resolutions, envs of a store (or a latent cache)
  data verify DIR          check every episode (and a latent cache's text table) against its
                           checksum; rebuild=true re-derives an episode store's manifest
  data preview DIR [out=F] [episodes=N]   mp4/gif grid of a few episodes with captions
"""


def _help(command: str, args: list[str]) -> str:
    """The help of `command` (a job, `data` or `config`), with `args` applied to its knobs."""
    if command == "data":
        return data_help()
    if command == "config":
        return command_help(args[1], args[2:]) if len(args) > 1 else CONFIG_USAGE
    return command_help(command, args)


def _run(argv: list[str]) -> int:
    if not argv or argv[0] in (*HELP, "help") and len(argv) == 1:
        print(USAGE)
        return 0
    if argv[0] in (*HELP, "help"):  # `worldsim help train`, `worldsim --help train`
        argv = [*argv[1:], "--help"]
    command, args = argv[0], argv[1:]
    if any(arg in HELP for arg in args):
        print(_help(command, [a for a in args if a not in HELP]))
        return 0
    if command == "config":
        if len(args) < 2 or args[0] != "show":
            raise ConfigError(CONFIG_USAGE)
        module = job_module(args[1])
        cfg = load_config(module.Config, config_args(module, args[2:]))
        print(commented_yaml(module.Config, cfg), end="")
        return 0
    if command == "data":
        if len(args) < 2 or args[0] not in commands.VERBS:
            raise ConfigError(
                f"usage: worldsim data {{{'|'.join(commands.VERBS)}}} DIR [key=value ...]"
            )
        return getattr(commands, args[0])(args[1], args[2:])
    module = job_module(command)
    cfg = load_config(module.Config, getattr(module, "cli_args", list)(args))  # positional words
    check_out("out", cfg.get("out"), getattr(module, "OUT_IS_FILE", False))
    check_out("export", cfg.get("export"), True)  # train's and train-vae's exported file
    module.run(to_object(cfg))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `worldsim` console script."""
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except (ConfigError, EnvConfigError, EpisodeError, FileNotFoundError) as err:
        print(f"worldsim: error: {err}", file=sys.stderr)
        return 2
    except JobFailed as err:
        print(f"worldsim: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `worldsim train --help | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0
    except KeyboardInterrupt:
        print(
            "worldsim: interrupted; finished work is kept, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
