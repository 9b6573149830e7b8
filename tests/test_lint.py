"""ruff lint and format over the whole repository: CI runs ruff through this test.

The rules and the line length (100) are in pyproject.toml; fix a failure with `ruff format .` and
`ruff check --fix .`, then by hand for what ruff cannot fix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
