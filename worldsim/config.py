"""Configuration: dataclass schemas merged with YAML files and `key=value` overrides.

Every command's knobs live in one dataclass (its schema, the single source of defaults).
`load_config(Schema, ["a.yaml", "env=bounce", "train.lr=3e-4"])` merges, in order:
the schema defaults, each YAML file, each override. `group=name`, where `group` is a field
holding a dataclass, loads `configs/<group>/<name>.yaml` into that field (Hydra-style groups).
Any unknown key or wrong type raises `ConfigError` with a one-line message naming the key
and the closest valid ones.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import importlib
import math
import os
import re
from pathlib import Path
from typing import Any, TypeVar, get_origin, get_type_hints

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException
from omegaconf.nodes import BooleanNode, FloatNode, IntegerNode, StringNode, ValueNode

T = TypeVar("T")

CONFIG_DIR = Path(
    os.environ.get("WORLDSIM_CONFIGS", Path(__file__).resolve().parents[1] / "configs")
)


class ConfigError(ValueError):
    """A bad config: unknown key, wrong type or missing file. The message is one line."""


class JobFailed(RuntimeError):
    """A job that cannot go on, its input being fine (a worker process died): the CLI prints the
    one-line message and exits 1; the work finished before it is kept."""


LISTED_KEYS = 30  # an unknown key with no near match lists this many valid ones (every job's)


def closest(key: str, options: list[str], prefix: str = "") -> str:
    """A message's fix for an unknown `key`: the nearest of `options`, else all of them (a
    command's knobs are fewer than LISTED_KEYS: eval's `model`, which `sample` calls `ckpt`, was
    cut from a list of eight), each as the whole dotted key to type (`prefix`: the part before
    them, e.g. "trainer.")."""
    close = difflib.get_close_matches(key, options, n=3, cutoff=0.5)
    if close:
        return f"closest valid keys: {', '.join(prefix + option for option in close)}"
    shown = [prefix + option for option in sorted(options)[:LISTED_KEYS]]
    more = f" and {len(options) - len(shown)} more (--help)" if len(options) > len(shown) else ""
    return f"valid keys: {', '.join(shown)}{more}"


class UnknownKey(ConfigError):
    """A key no field of the schema has: `key` as typed to its unknown part, and `fix`."""

    def __init__(self, key: str, fix: str):
        super().__init__(f"unknown config key '{key}'; {fix}")
        self.key, self.fix = key, fix


def field_default(f: dataclasses.Field) -> Any:
    """A dataclass field's default value (its factory called), or MISSING."""
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def nested_schema(f: dataclasses.Field) -> type | None:
    """The dataclass a field holds, resolved through its default (annotations may be strings)."""
    if not isinstance(f.type, str):
        return f.type
    default = field_default(f)
    return type(default) if dataclasses.is_dataclass(default) else None


def dotted_keys(schema: type, prefix: str = "") -> list[str]:
    """Every knob of a (nested) dataclass by its dotted key: window, sampler.steps, ..."""
    keys = []
    for f in dataclasses.fields(schema):
        sub = nested_schema(f)
        if sub is not None and dataclasses.is_dataclass(sub):
            keys += dotted_keys(sub, f"{prefix}{f.name}.")
        else:
            keys.append(prefix + f.name)
    return keys


def from_dict(schema: type[T], value: T | dict | None, where: str = "") -> T:
    """A dataclass from itself or from its (nested) dict, e.g. checkpoint hyper-parameters; a
    key the dataclass lacks is a ConfigError naming it (`where`: the dict's dotted name)."""
    if isinstance(value, schema):
        return value
    kwargs = dict(value or {})
    unknown = sorted(set(kwargs) - {f.name for f in dataclasses.fields(schema)})
    if unknown:
        raise ConfigError(f"{where or schema.__name__} has no field {', '.join(unknown)}")
    for f in dataclasses.fields(schema):
        if f.name not in kwargs:
            continue
        sub = nested_schema(f)
        if sub is not None and dataclasses.is_dataclass(sub):  # nested config
            kwargs[f.name] = from_dict(sub, kwargs[f.name], f"{where}.{f.name}".lstrip("."))
        elif isinstance(field_default(f), tuple):  # YAML and JSON give lists
            kwargs[f.name] = tuple(kwargs[f.name])
    return schema(**kwargs)


def _fields_at(schema: type, dotted: str) -> tuple[type | None, list[str]]:
    """Walk `dotted` through nested dataclasses; return (type of the last node, sibling names)."""
    node: Any = schema
    names: list[str] = []
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(node):
            return None, names  # free-form dict (e.g. env kwargs): anything goes below it
        fields = {f.name: f for f in dataclasses.fields(node)}
        names = list(fields)
        if part not in fields:
            prefix = "".join(f"{p}." for p in parts[:i])
            raise UnknownKey(prefix + part, closest(part, names, prefix))
        node = nested_schema(fields[part])
    return node, names


def _load_yaml(path: Path) -> DictConfig:
    if not path.is_file():
        raise ConfigError(
            f"config file '{path}' does not exist; pass an existing YAML path or a "
            f"group name from {CONFIG_DIR}"
        )
    try:
        loaded = OmegaConf.load(path)
    except Exception as err:  # yaml errors come in several classes; report any as one line
        raise ConfigError(
            f"config file '{path}' is not valid YAML: {str(err).splitlines()[0]}"
        ) from err
    if not isinstance(loaded, DictConfig):  # a list (`- a`) has no keys to merge into knobs
        raise ConfigError(
            f"config file '{path}' holds a {type(loaded).__name__.removesuffix('Config').lower()}"
            ", not key: value lines; write each knob as `key: value` at the top level"
        )
    return loaded


def _group_file(group: str, name: str, schema: type) -> Path:
    """configs/<group>/<name>.yaml, the file `group=name` picks; `schema`: the group's
    dataclass, whose knobs are named when the group has no files (`data=/a/dir` meant one)."""
    path = CONFIG_DIR / group / f"{name}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
        if not options:
            fields = [f.name for f in dataclasses.fields(schema)]
            listed = get_origin(get_type_hints(schema)[fields[0]]) is list
            example = f"[{name}]" if listed else name  # a list knob takes the bracket form
            raise ConfigError(
                f"{group}={name} picks a config file of group '{group}', and {CONFIG_DIR / group} "
                f"holds none; set its fields instead, e.g. {group}.{fields[0]}={example} "
                f"(fields: {', '.join(fields)})"
            )
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
        raise ConfigError(
            f"no config '{name}' in group '{group}' ({path} missing); "
            + (f"did you mean '{close[0]}'? " if close else "")
            + f"available: {', '.join(options)}"
        )
    return path


def _check_keys(schema: type, cfg: DictConfig, prefix: str = "") -> None:
    """Name unknown keys of a YAML file or override before OmegaConf's own multi-line error does,
    and a bool knob given anything but true or false (OmegaConf would make `progress=2` true)."""
    for key in cfg.keys():
        dotted = f"{prefix}{key}"
        node, _ = _fields_at(schema, dotted)
        value = cfg._get_node(key)._value()
        if isinstance(value, dict | DictConfig):
            if node is not None and dataclasses.is_dataclass(node):
                _check_keys(schema, cfg[key], dotted + ".")
        elif _is_bool_knob(schema, dotted) and not isinstance(value, bool):
            raise ConfigError(f"{dotted}={value} is not a bool; give true or false")


def _is_bool_knob(schema: type, dotted: str) -> bool:
    node: Any = _defaults(schema)
    for part in dotted.split("."):
        node = node._get_node(part) if isinstance(node, DictConfig) else None
    return isinstance(node, BooleanNode)


def _merge(base: DictConfig, other: Any, what: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, other)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", "") or "?"
        msg = str(err).splitlines()[0]
        if "is not a ListConfig" in msg:  # `data.roots=a` for a list knob
            raise ConfigError(f"{key} takes a list: {key}=[...] ({what})") from err
        raise ConfigError(f"bad value for config key '{key}' in {what}: {msg}") from err
    except TypeError as err:  # OmegaConf's bare "Cannot merge incompatible container types"
        key = _list_for_mapping(base, other) or "?"
        raise ConfigError(f"{key} takes a mapping (key: value), not a list ({what})") from err


def _list_for_mapping(base: Any, other: Any, prefix: str = "") -> str:
    """The dotted key where `other` gives a list and `base` holds a mapping ("" if none)."""
    if not isinstance(base, DictConfig) or not isinstance(other, dict | DictConfig):
        return ""
    for key, value in other.items():
        node = base._get_node(key) if key in base else None
        # a new key of a dict of dataclasses (a pipeline's `stages.NAME`) takes a mapping too
        new_entry = node is None and dataclasses.is_dataclass(base._metadata.element_type)
        if isinstance(value, list | ListConfig) and (isinstance(node, DictConfig) or new_entry):
            return f"{prefix}{key}"
        if found := _list_for_mapping(node, value, f"{prefix}{key}."):
            return found
    return ""


@functools.cache
def _defaults(schema: type) -> DictConfig:
    """A schema's defaults as a structured config, built once: merges copy it, never change it."""
    return OmegaConf.structured(schema)


def _refuse_unknown_keys(schema: type, args: list[str]) -> None:
    """Every unknown key of the `key=value` overrides in one line, so that a command with two
    wrong keys is not refused twice in turn; one alone is refused as the merge would."""
    unknown = []
    for arg in args:
        if "=" in arg:
            try:
                _fields_at(schema, arg.split("=", 1)[0])
            except UnknownKey as err:
                unknown.append(err)
    if len(unknown) == 1:
        raise unknown[0]
    if unknown:
        keys = "; ".join(f"'{err.key}' ({err.fix})" for err in unknown)
        raise ConfigError(f"{len(unknown)} unknown config keys: {keys}")


def load_config(schema: type[T], args: list[str]) -> DictConfig:
    """Merge schema defaults, YAML files and `key=value` overrides, validating each step."""
    _refuse_unknown_keys(schema, args)
    cfg = copy.deepcopy(_defaults(schema)) if not args else _defaults(schema)
    for arg in args:
        if "=" not in arg:
            path = Path(arg)
            if path.suffix not in (".yaml", ".yml"):
                raise ConfigError(f"argument '{arg}' is neither a .yaml file nor key=value")
            loaded = _load_yaml(path)
            _check_keys(schema, loaded)
            cfg = _merge(cfg, loaded, str(path))
            continue
        key, value = arg.split("=", 1)
        node, _ = _fields_at(schema, key)
        if node is not None and dataclasses.is_dataclass(node) and "." not in key:
            group = _load_yaml(_group_file(key, value, node))
            _check_keys(schema, OmegaConf.create({key: group}))
            cfg = _merge(cfg, {key: group}, f"configs/{key}/{value}.yaml")
            continue
        if value == "":  # `key=` (how a shell passes `key=''`): the empty string, not None
            arg = f"{key}=''"
        try:
            override = OmegaConf.from_dotlist([arg])
        except Exception as err:  # OmegaConf and YAML parser errors alike become one line
            raise ConfigError(f"cannot parse override '{arg}': {str(err).splitlines()[0]}") from err
        _check_keys(schema, override)
        cfg = _merge(cfg, override, f"override '{arg}'")
    _check_values(cfg)
    return cfg


# Int knobs where 0 means something ("none", "all", "the model's default", a seed) though their
# default is not 0; a knob whose default is 0 may be 0 too. Every other int knob counts or sizes
# something, so 0 is as wrong there as a negative.
ZERO_ALLOWED = {
    *("seed", "warmup_steps", "adversarial_start", "limit_val_batches", "video_every_vals"),
    *("eval_episodes", "videos"),
}
# Int list knobs of env steps, where 0 is a step like any other (other int lists are counts).
STEP_LISTS = {"oversample_steps"}
# Float knobs that may be negative (every float must be finite; others are 0 or more).
SIGNED = {"logit_mean", "text_scale", "action_scale"}
# Float knobs for which 0 is wrong too (rates, ratios, scales), and shares of 1 (0 to 1).
POSITIVE_FLOATS = {"lr", "fps", "logit_std", "mlp_ratio", "rope_theta", "vfov", "shift"}
FRACTIONS = {"val_fraction", "shared_prob", "context_prob", "drop_text", "drop_actions"}
FRACTIONS |= {"ema_decay", "strength", "context_noise", "context_estimate"}
FRACTIONS |= {"context_estimate_level", "rollout_share"}
# String knobs that name one of a fixed set: the choices, or "module:NAME" of the registry
# that holds them (imported only when the value is not the default).
CHOICES: dict[str, tuple[str, ...] | str] = {
    "policy": "worldsim.data.record:POLICIES",
    "logger": "worldsim.training.logger_names:LOGGERS",
    "strategy": "worldsim.training.trainer:STRATEGIES",
    "mode": "worldsim.diffusion.modes:MODES",
    "sampling_config.SamplerConfig.name": "worldsim.diffusion.samplers:SAMPLERS",
    "sampling_config.SamplerOverride.name": "worldsim.diffusion.samplers:SAMPLERS",
    "perceptual": "worldsim.training.autoencoder_config:PERCEPTUAL",
    "lpips_net": "worldsim.models.lpips:TRUNKS",
    "attention": ("full", "causal"),
    "backend": ("sdpa", "flex"),
    "ext": ("mp4", "gif"),
    "control_config.ControlConfig.video": ("mp4", "gif"),
    "control_config.ImagineConfig.contrast": "worldsim.control.control_config:CONTRASTS",
    "control_config.LikelihoodConfig.contrast": "worldsim.control.control_config:CONTRASTS",
    "accelerator": ("auto", "cpu", "gpu", "cuda", "mps", "tpu"),
    "precision": ("32-true", "32", "bf16-mixed", "bf16-true", "16-mixed", "16-true", "64-true"),
    "quickstart.Config.device": "worldsim.jobs.pipeline:DEVICES",
    "pipeline.Config.device": "worldsim.jobs.pipeline:DEVICES",
}
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")  # other `device` knobs: a torch device
SHARD = re.compile(r"(\d+)/(\d+)")  # `shard` knobs: i/n with 0 <= i < n
TEXT_ENCODERS = ("minilm", "none")  # `text.name`: one of these, or a sentence-transformers dir


def _rule_names(node: DictConfig, name: str) -> set[str]:
    """How the rule tables may name knob `name` of `node`: bare, or `module.Class.name`."""
    schema = node._metadata.object_type
    owner = f"{schema.__module__.rsplit('.', 1)[-1]}.{schema.__qualname__}"
    return {name, f"{owner}.{name}"}


def _choices(names: set[str]) -> tuple[str, ...] | None:
    rule = next((CHOICES[n] for n in names if n in CHOICES), None)
    if isinstance(rule, str):
        module, attr = rule.split(":")
        rule = tuple(getattr(importlib.import_module(module), attr))
    return rule


def _value_problem(node: DictConfig, name: str, value: Any) -> str | None:
    """What is wrong with one knob's value (None: nothing), from its type and the rule tables."""
    names, child, default = _rule_names(node, name), node._get_node(name), _default(node, name)
    if _plain(value) == default:
        return None  # a schema's default is valid (and no registry is imported for it)
    if isinstance(child, ListConfig) and child._metadata.element_type is int:
        if names & STEP_LISTS:
            if value and min(value) < 0:
                return "is a list of env steps; give each 0 or more"
        elif not value or min(value) < 1:
            return "is a list of counts or sizes; give one or more, each 1 or more"
    elif isinstance(child, IntegerNode):
        least = 0 if names & ZERO_ALLOWED or default == 0 else 1
        if value < least:
            return f"is a count or size; give {least} or more"
    elif isinstance(child, FloatNode):
        if not math.isfinite(value):
            return "must be a finite number"
        if names & FRACTIONS and not 0 <= value <= 1:
            return "is a share; give a number from 0 to 1"
        if names & POSITIVE_FLOATS and value <= 0:
            return "must be more than 0"
        if value < 0 and not names & SIGNED:
            return "must be 0 or more"
    elif isinstance(child, StringNode):
        return _string_problem(name, names, value)
    return None


def _string_problem(name: str, names: set[str], value: str) -> str | None:
    choices = _choices(names)
    if choices is not None and value not in choices:
        return f"is not one of {', '.join(choices)}"
    if choices is None and name == "device" and not DEVICE.fullmatch(value):
        return "is not a device; give auto, cpu, cuda or cuda:N"
    text_encoder = "text_config.TextConfig.name" in names
    if text_encoder and value not in TEXT_ENCODERS and not Path(value).is_dir():
        return f"is not {', '.join(TEXT_ENCODERS)} or a sentence-transformers directory"
    shard = SHARD.fullmatch(value) if name == "shard" else None
    if name == "shard" and not (shard and int(shard[1]) < int(shard[2])):
        return "is not i/n with 0 <= i < n (e.g. 0/2 and 1/2 for two processes)"
    return None


def _default(node: DictConfig, name: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(node._metadata.object_type)}
    return _plain(field_default(fields[name]))


def _plain(value: Any) -> Any:
    """Lists and tuples as lists, so a knob compares equal to its default."""
    if isinstance(value, ListConfig):
        return list(value)
    return list(value) if isinstance(value, tuple) else value


def _check_values(cfg: DictConfig, prefix: str = "") -> None:
    """Every knob against its type and the rule tables above, then each schema's own checks
    (its `__post_init__`, e.g. a VAE's halvings against its `channel_mult`): the first bad one
    is a ConfigError naming its key, before any job starts."""
    for key in cfg:
        node, dotted = cfg._get_node(key), f"{prefix}{key}"
        if isinstance(node, DictConfig):
            if node._metadata.object_type not in (None, dict):
                _check_values(node, f"{dotted}.")
            continue
        value = node._value() if isinstance(node, ValueNode) else cfg[key]
        problem = None if value is None else _value_problem(cfg, str(key), value)
        if problem:
            raise ConfigError(f"{dotted}={_shown(value)} {problem}")
    if not hasattr(cfg._metadata.object_type, "__post_init__"):
        return
    try:
        OmegaConf.to_object(cfg)
    except (ValueError, OmegaConfBaseException) as err:
        cause = err.__cause__ if isinstance(err, OmegaConfBaseException) and err.__cause__ else err
        message = str(cause).splitlines()[0]
        if prefix and message.startswith(prefix):  # it names its key already: flow.region=...
            raise ConfigError(message) from err
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: {message}") from err


def _shown(value: Any) -> str:
    return str(_plain(value))


def to_object(cfg: DictConfig) -> Any:
    """The dataclass instance behind a structured config (a `${...}` that names nothing: one
    ConfigError)."""
    try:
        return OmegaConf.to_object(cfg)
    except InterpolationResolutionError as err:
        raise ConfigError(f"{str(err).splitlines()[0]} (check the ${{...}} references)") from err


def check_out(key: str, out: str | None, is_file: bool) -> None:
    """Refuse an output path (`key`=`out`) of the wrong kind before the job writes anything: a
    job's `out=` is a folder, except where its module says `OUT_IS_FILE` (export, embed-text)."""
    if not out:
        return
    parent = next((p for p in Path(out).absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(f"{key}={out}: {parent} is a file; give a path under a folder")
    if not os.path.exists(out):
        return
    if is_file and os.path.isdir(out):
        raise ConfigError(f"{key}={out} is a folder; give the path of the file to write")
    if not is_file and not os.path.isdir(out):
        raise ConfigError(f"{key}={out} is a file; give a folder (new, or made by this job)")
