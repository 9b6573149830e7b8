"""A benchmark spec: a named, versioned YAML (evals/specs/NAME.yaml) listing fixed cases.

Each group is one env config with its context and horizon lengths and the suites it feeds; case k
of a group is held-out episode `seed + k`. Splits are nested prefixes (tiny c small c full), so a
case's id (`bounce-0003`) means the same episode in every split. The sha256 and the fingerprint
of every case ship beside the spec (NAME.sha256, NAME.fingerprints.npz) and regeneration is checked
against them (evals/bench_cases.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from envs.make import EnvConfig
from evals.scenarios import ScenarioConfig

SPECS = Path(__file__).resolve().parent / "specs"
SPLITS = ("tiny", "small", "full")
BENCH_SUITES = ("fidelity", "consistency3d", "permanence", "physics", "voe")


@dataclass(frozen=True)
class CaseSpec:
    """One case of a spec: episode `index` of group `group`."""

    case_id: str  # f"{group}-{index:04d}", the name of its video in a folder of predictions
    group: str
    index: int
    suites: tuple[str, ...]


@dataclass(frozen=True)
class GroupSpec:
    """An env config and how its episodes are cut into context and horizon."""

    name: str
    env: EnvConfig
    suites: tuple[str, ...]
    context: int
    horizon: int
    seed: int
    policy: str

    def scenario(self, episodes: int, cache: str, workers: int = 1) -> ScenarioConfig:
        """The scenario set holding this group's first `episodes` cases."""
        return ScenarioConfig(
            env=self.env,
            episodes=episodes,
            context=self.context,
            horizon=self.horizon,
            seed=self.seed,
            policy=self.policy,
            cache=cache,
            workers=workers,
        )


@dataclass(frozen=True)
class BenchSpec:
    """A parsed spec file."""

    name: str
    version: int
    splits: dict[str, int]  # split -> cases per group
    groups: tuple[GroupSpec, ...]
    path: Path

    @property
    def checksum_path(self) -> Path:
        return self.path.with_suffix(".sha256")

    def cases(self, split: str) -> list[CaseSpec]:
        """Every case of `split`, group by group."""
        if split not in self.splits:
            raise ValueError(f"split={split!r}; spec {self.name} has {', '.join(self.splits)}")
        return [
            CaseSpec(f"{g.name}-{k:04d}", g.name, k, g.suites)
            for g in self.groups
            for k in range(self.splits[split])
        ]

    def group(self, name: str) -> GroupSpec:
        return next(g for g in self.groups if g.name == name)


def spec_path(name: str) -> Path:
    """A spec by name (evals/specs/NAME.yaml) or by path to a .yaml file."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else SPECS / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(SPECS.glob("*.yaml")))
        raise FileNotFoundError(f"benchmark spec {name!r} not found; known specs: {known}")
    return path


SPEC_KEYS = ("name", "version", "splits", "groups")
GROUP_KEYS = ("name", "env", "suites", "context", "horizon", "seed", "policy")  # or in defaults


def _require(path: Path, where: str, raw, keys: tuple[str, ...]) -> None:
    """A one-line error naming the keys `raw` lacks (format: evals/README.md, Benchmark)."""
    missing = [k for k in keys if not isinstance(raw, dict) or k not in raw]
    if missing:
        raise ValueError(
            f"{path}: {where} lacks {', '.join(missing)} (spec format: evals/README.md, Benchmark)"
        )


def _env(path: Path, group: str, env) -> EnvConfig:
    try:
        return EnvConfig(**env)
    except TypeError as err:
        raise ValueError(f"{path}: group {group} env {env!r} is not an env config ({err})") from err


def load_spec(name: str) -> BenchSpec:
    """Parse and check a spec file."""
    path = spec_path(name)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not YAML: {str(err).splitlines()[0]}") from err
    _require(path, "the spec", raw, SPEC_KEYS)
    defaults = raw.get("defaults") or {}
    _require(path, "defaults", defaults, ())  # a mapping, if given
    groups = []
    for i, g in enumerate(raw["groups"]):
        merged = {**defaults, **g} if isinstance(g, dict) else g
        _require(path, f"group {i}", merged, GROUP_KEYS)
        unknown = set(g["suites"]) - set(BENCH_SUITES)
        if unknown:
            raise ValueError(
                f"{path}: group {g['name']} lists suites {sorted(unknown)}; "
                f"the bench scores {', '.join(BENCH_SUITES)}"
            )
        groups.append(
            GroupSpec(
                name=g["name"],
                env=_env(path, g["name"], g["env"]),
                suites=tuple(g["suites"]),
                context=int(merged["context"]),
                horizon=int(merged["horizon"]),
                seed=int(merged["seed"]),
                policy=str(merged["policy"]),
            )
        )
    splits = raw["splits"] if isinstance(raw["splits"], dict) else {}
    if set(splits) != set(SPLITS):
        raise ValueError(f"{path}: splits {raw['splits']!r}, expected {', '.join(SPLITS)}")
    splits = {k: int(v) for k, v in splits.items()}
    return BenchSpec(raw["name"], int(raw["version"]), splits, tuple(groups), path)
