"""ruff lint and format over the whole repository, and no function over 60 lines outside tests.

CI runs ruff through this file. The rules and the line length (100) are in pyproject.toml; fix a
ruff failure with `ruff format .` and `ruff check --fix .`, then by hand for what ruff cannot fix.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CODE = ("envs", "worldsim", "evals", "benchmarks", "experiments")  # every folder but tests/
MAX_FUNCTION_LINES = 60  # a longer function is split into named steps


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [("check", "--output-format", "concise"), ("format", "--check")],
    ids=["check", "format"],
)
def test_ruff_is_clean(args: tuple[str, ...]):
    done = _ruff(*args)
    if done.returncode != 0:
        pytest.fail(f"`ruff {' '.join(args)} .` failed:\n{done.stdout}{done.stderr}", pytrace=False)


def test_no_function_outside_tests_is_longer_than_60_lines():
    too_long = []
    for path in sorted(p for folder in CODE for p in (REPO / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    where = path.relative_to(REPO)
                    too_long.append(f"{where}:{node.lineno} {node.name}() has {lines} lines")
    assert not too_long, "split these into named steps:\n" + "\n".join(too_long)
