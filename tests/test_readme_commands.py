"""Every `worldsim ...` command line of README.md, docs/*.md and the --help examples parses: the
command exists, each key=value names a real config key (and loads, where its value is not a
placeholder), each YAML file and group exists, and each mode named exists in MODES. Nothing runs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from worldsim.config import load_config
from worldsim.data import commands
from worldsim.diffusion.modes import MODES
from worldsim.help import DATA_EXAMPLES, EXAMPLES, config_knobs
from worldsim.jobs import JOBS, job_module

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
WORDS = ("config", "data", "help", *JOBS)


def _documented_lines() -> list[tuple[str, str]]:
    """(where, command line) of each fenced line and inline code span that runs `worldsim`."""
    found = []
    for doc in DOCS:
        fenced = False
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            if line.startswith("```"):
                fenced = not fenced
                continue
            spans = [line] if fenced else re.findall(r"`(worldsim [^`]+)`", line)
            found += [(f"{doc.name}:{n}", s) for s in spans if s.split()[:1] == ["worldsim"]]
    return found


def _command_lines() -> list[tuple[str, str]]:
    examples = [(f"help {cmd}", line) for cmd, pair in EXAMPLES.items() for line in pair]
    data = [("data help", line) for line in DATA_EXAMPLES]
    return _documented_lines() + examples + data


def _placeholder(word: str) -> bool:
    """A synopsis word standing for a value: ..., CMD, FILE.yaml, DIR, dit_<size>, i/n."""
    return (
        word in ("...", "i/n")
        or "<" in word
        or re.fullmatch(r"[A-Z][A-Z_]*(\.yaml)?", word) is not None
    )


def _words(line: str) -> list[str]:
    """The arguments after `worldsim`, without the comment and the optional [ ... ] groups."""
    line = re.sub(r"(?<=\s)\[[^\]]*\]", " ", line.split("  #")[0])
    return shlex.split(line)[1:]


def _check_key(schema: type, key: str) -> None:
    """`key` is a knob of `schema`, or lies under a free-form dict knob (e.g. env.kwargs.*)."""
    cfg = OmegaConf.structured(schema)
    knobs = {k.key: k for k in config_knobs(schema, cfg)}
    free = [k for k, knob in knobs.items() if isinstance(knob.value, dict)]
    assert key in knobs or any(key.startswith(f + ".") for f in free), f"unknown key '{key}'"


def _check_args(schema: type, args: list[str]) -> None:
    concrete = []
    for arg in args:
        key, _, value = arg.partition("=")
        if _placeholder(value or key):
            if value:
                _check_key(schema, key)
            continue
        if re.fullmatch(r"mode", key):
            assert value in MODES, f"mode '{value}' is not in MODES ({', '.join(MODES)})"
        concrete.append(arg)
    load_config(schema, concrete)  # unknown keys, wrong types, missing YAML and groups raise


def _check(words: list[str]) -> None:
    command, args = words[0], [w for w in words[1:] if w not in ("-h", "--help")]
    if _placeholder(command):
        return  # the synopsis `worldsim CMD [...]`
    assert command in WORDS, f"unknown command '{command}'"
    if command in ("help", "config"):
        rest = args[1:] if command == "config" else args
        assert command == "help" or args[:1] == ["show"], "config takes `show CMD`"
        if rest and not _placeholder(rest[0]):
            _check([*rest])
        return
    if command == "data":
        verb = args[0]
        assert verb in commands.VERBS, f"unknown data verb '{verb}'"
        schema = commands.VERBS[verb]
        assert schema is not None or len(args) == 2, f"data {verb} takes no options"
        if schema is not None:
            _check_args(schema, args[2:])
        return
    module = job_module(command)
    positional = getattr(module, "cli_args", None)  # a job whose words fill keys (bench)
    if positional and args:  # `worldsim bench` alone is a mention
        args = positional([a for a in args if a != "..."])
    _check_args(module.Config, [a for a in args if "=" in a or not _placeholder(a)])


def test_every_command_has_two_examples():
    missing = [cmd for cmd in JOBS if len(EXAMPLES.get(cmd, ())) != 2]
    assert not missing, f"add 2 examples of {missing} to EXAMPLES in worldsim/help.py"


@pytest.mark.parametrize(("where", "line"), _command_lines())
def test_command_line_parses(where, line):
    _check(_words(line))


def test_docs_have_command_lines():
    assert len(_documented_lines()) >= 15


def test_every_mode_the_docs_name_exists():
    """`mode=a|b|c` alternatives and `mode=x` in prose name registered modes only."""
    for doc in DOCS:
        for value in re.findall(r"(?<![\w.])mode=([\w|\\]+)", doc.read_text()):
            for mode in filter(None, value.replace("\\", "").split("|")):
                assert mode in MODES, f"{doc.name} names mode '{mode}'; modes: {', '.join(MODES)}"
