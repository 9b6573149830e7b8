"""Configuration: dataclass schemas merged with YAML files and `key=value` overrides.

Every command's knobs live in one dataclass (its schema, the single source of defaults).
`load_config(Schema, ["a.yaml", "env=bounce", "train.lr=3e-4"])` merges, in order:
the schema defaults, each YAML file, each override. `group=name`, where `group` is a field
holding a dataclass, loads `configs/<group>/<name>.yaml` into that field (Hydra-style groups).
Any unknown key or wrong type raises `ConfigError` with a one-line message naming the key
and the closest valid ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from omegaconf.nodes import IntegerNode

T = TypeVar("T")

CONFIG_DIR = Path(
    os.environ.get("WORLDSIM_CONFIGS", Path(__file__).resolve().parents[1] / "configs")
)


class ConfigError(ValueError):
    """A bad config: unknown key, wrong type or missing file. The message is one line."""


def _closest(key: str, options: list[str]) -> str:
    close = difflib.get_close_matches(key, options, n=3, cutoff=0.5)
    shown = close or sorted(options)[:8]
    return f"closest valid keys: {', '.join(shown)}" if close else f"valid keys: {', '.join(shown)}"


def field_default(f: dataclasses.Field) -> Any:
    """A dataclass field's default value (its factory called), or MISSING."""
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def nested_schema(f: dataclasses.Field) -> type | None:
    """The dataclass a field holds, resolved through its default (annotations may be strings)."""
    if not isinstance(f.type, str):
        return f.type
    default = field_default(f)
    return type(default) if dataclasses.is_dataclass(default) else None


def from_dict(schema: type[T], value: T | dict | None) -> T:
    """A dataclass from itself or from its (nested) dict, e.g. checkpoint hyper-parameters."""
    if isinstance(value, schema):
        return value
    kwargs = dict(value or {})
    for f in dataclasses.fields(schema):
        if f.name not in kwargs:
            continue
        sub = nested_schema(f)
        if sub is not None and dataclasses.is_dataclass(sub):  # nested config
            kwargs[f.name] = from_dict(sub, kwargs[f.name])
        elif isinstance(field_default(f), tuple):  # YAML and JSON give lists
            kwargs[f.name] = tuple(kwargs[f.name])
    return schema(**kwargs)


def _fields_at(schema: type, dotted: str) -> tuple[type | None, list[str]]:
    """Walk `dotted` through nested dataclasses; return (type of the last node, sibling names)."""
    node: Any = schema
    names: list[str] = []
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(node):
            return None, names  # free-form dict (e.g. env kwargs): anything goes below it
        fields = {f.name: f for f in dataclasses.fields(node)}
        names = list(fields)
        if part not in fields:
            prefix = dotted[: dotted.index(part)] if part in dotted else ""
            raise ConfigError(f"unknown config key '{prefix}{part}'; {_closest(part, names)}")
        node = nested_schema(fields[part])
    return node, names


def _load_yaml(path: Path) -> DictConfig:
    if not path.is_file():
        raise ConfigError(
            f"config file '{path}' does not exist; pass an existing YAML path or a "
            f"group name from {CONFIG_DIR}"
        )
    try:
        return OmegaConf.load(path)
    except Exception as err:  # yaml errors come in several classes; report any as one line
        raise ConfigError(
            f"config file '{path}' is not valid YAML: {str(err).splitlines()[0]}"
        ) from err


def _group_file(group: str, name: str) -> Path:
    path = CONFIG_DIR / group / f"{name}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
        raise ConfigError(
            f"no config '{name}' in group '{group}' ({path} missing); "
            f"available: {', '.join(options) or 'none'}"
        )
    return path


def _check_keys(schema: type, cfg: DictConfig, prefix: str = "") -> None:
    """Name unknown keys of a YAML file before OmegaConf's own multi-line error does."""
    for key in cfg.keys():
        dotted = f"{prefix}{key}"
        node, _ = _fields_at(schema, dotted)
        value = cfg[key]
        if isinstance(value, DictConfig) and node is not None and dataclasses.is_dataclass(node):
            _check_keys(schema, value, dotted + ".")


def _merge(base: DictConfig, other: Any, what: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, other)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", "") or "?"
        msg = str(err).splitlines()[0]
        raise ConfigError(f"bad value for config key '{key}' in {what}: {msg}") from err


def load_config(schema: type[T], args: list[str]) -> DictConfig:
    """Merge schema defaults, YAML files and `key=value` overrides, validating each step."""
    cfg = OmegaConf.structured(schema)
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
            group = _load_yaml(_group_file(key, value))
            _check_keys(schema, OmegaConf.create({key: group}))
            cfg = _merge(cfg, {key: group}, f"configs/{key}/{value}.yaml")
            continue
        try:
            override = OmegaConf.from_dotlist([arg])
        except Exception as err:  # OmegaConf and YAML parser errors alike become one line
            raise ConfigError(f"cannot parse override '{arg}': {str(err).splitlines()[0]}") from err
        cfg = _merge(cfg, override, f"override '{arg}'")
    _check_not_negative(cfg)
    return cfg


def _check_not_negative(cfg: DictConfig, prefix: str = "") -> None:
    """Every int knob of a schema is a count, size, index or seed: a negative one is a mistake
    (e.g. `trainer.max_steps=-1`, which Lightning reads as "forever"), named here in one line."""
    for key in cfg:
        node, dotted = cfg._get_node(key), f"{prefix}{key}"
        if isinstance(node, DictConfig) and node._metadata.object_type not in (None, dict):
            _check_not_negative(node, f"{dotted}.")
        elif isinstance(node, IntegerNode) and node._value() is not None and node._value() < 0:
            raise ConfigError(
                f"{dotted}={node._value()} is negative; it is a count, size or index (0 or more)"
            )


def to_object(cfg: DictConfig) -> Any:
    """The dataclass instance behind a structured config."""
    return OmegaConf.to_object(cfg)
