"""`worldsim CMD --help` and the commented YAML of `worldsim config show CMD`.

Both are generated from the job's config dataclass: each knob's dotted key, type, value (the
default, or what the given arguments make it) and the comment written beside its field in the
source, so the code stays the single place that says what a knob means.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import re
import textwrap
import tokenize
from typing import Any

from omegaconf import DictConfig, OmegaConf

from worldsim.config import CONFIG_DIR, load_config, nested_schema
from worldsim.jobs import JOBS, config_args, job_module

WIDTH = 100  # terminal columns the help wraps to
KEY_COLUMN = 34  # `key=value` column of the knob table; a longer one puts its meaning below it
TYPE_COLUMN = 9  # type column of the knob table (a longer type puts its meaning below it)
SHOWN_VALUE = 40  # longer values are cut in the table (`config show` prints them whole)

# Two real command lines per job: each parses (tests/test_readme_commands.py) and runs once its
# inputs exist, in the order of the README (record -> train-vae -> encode -> train -> sample).
EXAMPLES: dict[str, tuple[str, str]] = {
    "record": (
        "worldsim record env=bounce episodes=64 steps=128 workers=2 out=data/bounce",
        "worldsim record env=crafter policy=scripted episodes=16 shard=0/2 out=data/crafter",
    ),
    "rollout": (
        "worldsim rollout env=orbit episodes=8 steps=33 out=data/orbit",
        "worldsim rollout env=doom_my_way_home episodes=2 steps=64 env.width=64 out=data/doom",
    ),
    "train-vae": (
        "worldsim train-vae data.root=data/bounce loss.perceptual=none out=runs/vae",
        "worldsim train-vae configs/train/vae_bounce.yaml data.root=data/bounce "
        "trainer.max_minutes=10 logger=csv",
    ),
    "encode": (
        "worldsim encode store=data/bounce checkpoint=runs/vae/vae.ckpt out=data/bounce_latents",
        "worldsim encode store=data/bounce checkpoint=runs/vae/vae.ckpt out=data/bounce_latents "
        "shard=1/4 device=cuda",
    ),
    "embed-text": (
        "worldsim embed-text env_id=worldsim/CrafterReward-v0 out=data/text.npz",
        "worldsim embed-text store=data/bounce out=data/text.npz",
    ),
    "decode": (
        "worldsim decode cache=data/bounce_latents out=runs/decoded limit=2",
        "worldsim decode cache=data/bounce_latents episodes=[ep_000000,ep_000003] ext=gif",
    ),
    "train": (
        "worldsim train data.roots=[data/bounce_latents] model=dit_s train.max_minutes=30",
        "worldsim train data.roots=[data/bounce_latents,data/orbit_latents] model=dit_b "
        "train.devices=8 train.strategy=ddp logger=csv",
    ),
    "export": (
        "worldsim export ckpt=runs/world_model/ema.ckpt out=runs/world_model/model.pt",
        "worldsim export ckpt=runs/world_model/ema.ckpt out=runs/model.pt max_part_mb=90",
    ),
    "sample": (
        "worldsim sample ckpt=pretrained:crafter mode=rollout input=data/crafter_demo frames=32",
        "worldsim sample ckpt=runs/world_model/ema.ckpt mode=extend_forward input=data/bounce "
        "episode=ep_000002 frames=48 out=samples/bounce",
    ),
    "eval": (
        "worldsim eval configs/eval/orbit.yaml model=runs/world_model/ema.ckpt",
        "worldsim eval configs/eval/bounce.yaml model=baseline:copy_last suite=fidelity,stability",
    ),
    "quickstart": (
        "worldsim quickstart",
        "worldsim quickstart env=bounce out=runs/quickstart_bounce device=cuda",
    ),
    "pipeline": (
        "worldsim pipeline configs/experiment/world_model_bounce_orbit.yaml",
        "worldsim pipeline configs/experiment/world_model_bounce_orbit.yaml device=cuda "
        "out=runs/bounce_orbit",
    ),
    "control": (
        'worldsim control env=crafter prompt="get wood"',
        "worldsim control tasks=[collect_wood,eat_cow] policies=[prompt,no_prompt,random,scripted] "
        "episodes=50",
    ),
    "play": (
        "worldsim play ckpt=pretrained:crafter env=crafter port=8765",
        "worldsim play ckpt=pretrained:crafter input=data/crafter_demo headless=true "
        "actions=actions.txt out=runs/play",
    ),
    "bench": (
        "worldsim bench run worldsim-phys-v2 model=baseline:copy_last split=tiny",
        "worldsim bench export runs/bench_cases split=tiny truth=lossless",
    ),
    "import-vpt": (
        "worldsim import-vpt src=data/vpt_raw out=data/vpt",
        "worldsim import-vpt src=data/vpt_raw out=data/vpt_small width=128 height=72 "
        "episode_frames=1000",
    ),
}


@dataclasses.dataclass(frozen=True)
class Knob:
    """One config key as the command line names it."""

    key: str  # dotted, e.g. train.max_steps
    type: str  # the annotation as written (int, list[str]) or a nested config's class name
    value: Any  # in the merged config: the default unless arguments changed it; None for groups
    comment: str  # the comment beside the field in its dataclass ("" when none)
    group: bool  # a nested config: its own knobs follow, and `key=NAME` may load a YAML whole


@functools.cache
def _class_source(cls: type) -> tuple[dict[str, str], str]:
    """({field: comment}, docstring) of `cls`'s own source. A field's comment is the one on its
    lines, else the comment lines right above it."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (e.g. a class made at run time)
        return {}, ""
    lines = source.splitlines()
    comments = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT and not tok.string.lstrip("# ").startswith("noqa")
    }
    node = ast.parse(source).body[0]
    found = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        own = [comments[n] for n in range(stmt.lineno, stmt.end_lineno + 1) if n in comments]
        above, n = [], stmt.lineno - 1
        while n >= 1 and lines[n - 1].strip().startswith("#") and n in comments:
            above.insert(0, comments[n])
            n -= 1
        found[stmt.target.id] = " ".join(own or above)
    return found, (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " ")


def field_comments(schema: type) -> dict[str, str]:
    """{field: comment} of a dataclass, base classes' comments kept where a subclass has none."""
    comments: dict[str, str] = {}
    for cls in reversed(schema.__mro__):
        if dataclasses.is_dataclass(cls):
            comments.update({k: v for k, v in _class_source(cls)[0].items() if v})
    return comments


def _type_name(f: dataclasses.Field) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def knobs(schema: type, values: dict, prefix: str = "") -> list[Knob]:
    """Every knob of `schema`, its plain knobs first, then each nested config followed by its
    own; `values` is the merged config as plain containers (`OmegaConf.to_container`)."""
    comments = field_comments(schema)
    plain, nested = [], []
    for f in dataclasses.fields(schema):
        key, sub = prefix + f.name, nested_schema(f)
        if sub is not None and dataclasses.is_dataclass(sub):
            meaning = comments.get(f.name) or _class_source(sub)[1]
            nested.append(Knob(key, sub.__name__, None, meaning, True))
            nested.extend(knobs(sub, values[f.name], key + "."))
        else:
            plain.append(Knob(key, _type_name(f), values[f.name], comments.get(f.name, ""), False))
    return plain + nested


def config_knobs(schema: type, cfg: DictConfig) -> list[Knob]:
    """The knobs of a merged config `cfg` of `schema`."""
    return knobs(schema, OmegaConf.to_container(cfg, resolve=False))


def group_names(key: str) -> list[str]:
    """The YAML files `key=NAME` can load (configs/<key>/NAME.yaml); [] for a nested key."""
    return sorted(p.stem for p in (CONFIG_DIR / key).glob("*.yaml")) if "." not in key else []


def shown(value: Any) -> str:
    """A value as it is written on the command line (`key=shown`)."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if value and not re.search(r"[\s,\[\]{}'\"=#]", value) else repr(value)
    if isinstance(value, (list, tuple)):
        return f"[{','.join(shown(v) for v in value)}]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{shown(v)}" for k, v in value.items()) + "}"
    return str(value)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _knob_lines(rows: list[Knob]) -> list[str]:
    """The knob table: `key=value  type  meaning`, a group's line heading its own knobs."""
    lines = []
    type_w = min(max(len(k.type) for k in rows if not k.group), TYPE_COLUMN)
    for k in rows:
        depth = k.key.count(".")
        indent = "  " * (depth + 1)
        if k.group:
            names = group_names(k.key)
            loads = f" {k.key}=NAME loads configs/{k.key}/NAME.yaml: {', '.join(names)}."
            text = f"{k.key} ({k.type}): {k.comment}" + (loads if names else "")
            lines.append("")
            lines.extend(
                textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "    ")
            )
            continue
        left = f"{indent}{k.key}={_cut(shown(k.value), SHOWN_VALUE)}"
        head = f"{left:<{KEY_COLUMN}} {k.type:<{type_w}}"
        if not k.comment:
            lines.append(head.rstrip())
            continue
        column = KEY_COLUMN + type_w + 1  # where every meaning starts
        body = textwrap.wrap(k.comment, WIDTH - column - 2)
        if len(head) > column:  # a long key=value or type: its meaning goes below it
            lines.append(head.rstrip())
            head = " " * column
        pad = " " * len(head)
        lines.extend(f"{head if i == 0 else pad}  {part}" for i, part in enumerate(body))
    return lines


def command_help(command: str, args: list[str] | None = None) -> str:
    """`worldsim CMD --help`: purpose, usage, every knob (with `args` applied) and 2 examples."""
    module = job_module(command)
    cfg = load_config(module.Config, config_args(module, args or []))
    purpose = inspect.getdoc(module) or JOBS[command].help
    lines = [
        f"usage: worldsim {command} [file.yaml ...] [group=NAME] [key=value ...]",
        "",
        *purpose.splitlines(),
        "",
        "knobs (key=value, type, meaning); later arguments override earlier ones:",
        *_knob_lines(config_knobs(module.Config, cfg)),
        "",
        "examples:",
        *(f"  {example}" for example in EXAMPLES.get(command, ())),
        "",
        f"`worldsim config show {command} [args]` prints the merged config with these comments.",
    ]
    return "\n".join(lines)


def commented_yaml(schema: type, cfg: DictConfig) -> str:
    """`cfg` as YAML with each key's field comment after it (still valid YAML)."""
    comments = {k.key: k.comment for k in config_knobs(schema, cfg)}
    text = OmegaConf.to_yaml(cfg).splitlines()
    column = min(max((len(line) for line in text), default=0), 44) + 2
    path: list[tuple[int, str]] = []  # (indent, key) of the mapping keys enclosing a line
    out = []
    for line in text:
        match = re.match(r"( *)([\w.-]+):( |$)", line)
        if match is None:  # a list item or a block scalar's text
            out.append(line)
            continue
        indent = len(match[1])
        path = [(i, k) for i, k in path if i < indent] + [(indent, match[2])]
        note = comments.get(".".join(k for _, k in path))
        out.append(f"{line:<{column}}# {note}" if note else line)
    return "\n".join(out) + "\n"


DATA_EXAMPLES = (
    "worldsim data info data/bounce",
    "worldsim data verify data/bounce rebuild=true",
    "worldsim data preview data/bounce out=preview.mp4 episodes=4",
)


def data_help() -> str:
    """`worldsim data --help`: each verb's purpose, the knobs of those that take any, examples."""
    from worldsim.data import commands

    lines = [
        f"usage: worldsim data {{{'|'.join(commands.VERBS)}}} DIR [key=value ...]",
        "",
        *(inspect.getdoc(commands) or "").splitlines(),
        "",
    ]
    for verb, schema in commands.VERBS.items():
        doc = (inspect.getdoc(getattr(commands, verb)) or "").replace("\n", " ")
        lines.extend(textwrap.wrap(f"{verb} DIR: {doc}", WIDTH, subsequent_indent="    "))
        if schema is not None:
            cfg = OmegaConf.structured(schema)
            lines.extend(_knob_lines(config_knobs(schema, cfg)))
        lines.append("")
    lines += ["examples:", *(f"  {example}" for example in DATA_EXAMPLES)]
    return "\n".join(lines)
