"""Every third-party package the library imports is declared in pyproject.toml, or is one of the
optional ones below, imported where it is used. `flask` was imported and not declared: every
environment that already had it passed, and only a new venv failed (session 33)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("worldsim", "envs", "evals", "benchmarks")  # what `pip install -e .` must run
FIRST_PARTY = {*LIBRARY, "experiments", "tests"}
OPTIONAL = {  # module -> why it may be absent
    "triton": "the CUDA kernels (worldsim/models/kernels); CPU wheels of torch ship without it",
    "wandb": "logger=wandb only; refused in one line when it is not installed",
    "gym": "MineRL's old gym, which the minerl extra installs",
}


def imported_modules() -> dict[str, str]:
    """Top-level third-party module -> one library file that imports it."""
    found: dict[str, str] = {}
    for package in LIBRARY:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def normalised(requirement: str) -> str:
    """A requirement's distribution name as pip compares them: `Flask>=3` -> `flask`."""
    return re.split(r"[<>=!~;\[ ]", requirement)[0].lower().replace("_", "-")


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in project.get("optional-dependencies", {}).values() for r in group]
    return {normalised(r) for r in project["dependencies"] + extras}


def test_every_imported_package_is_declared_or_optional():
    distributions = importlib.metadata.packages_distributions()
    names = declared()
    undeclared = {
        module: where
        for module, where in imported_modules().items()
        if module not in OPTIONAL
        and normalised(module) not in names
        and not any(normalised(d) in names for d in distributions.get(module, []))
    }
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"


def test_every_optional_module_is_still_imported():
    stale = set(OPTIONAL) - set(imported_modules())
    assert not stale, f"OPTIONAL lists modules nothing imports any more: {stale}"
