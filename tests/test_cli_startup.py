"""`worldsim CMD --help`, `config show CMD` and a bad knob answer without importing torch,
Lightning or a simulator (importing them took 10-30 s on a 2-core machine): a job module imports
at its top only what its `Config` needs, and the rest where its `run` needs it."""

from __future__ import annotations

import subprocess
import sys

from worldsim.jobs import JOBS

HEAVY = ("torch", "lightning", "mujoco", "vizdoom", "crafter", "einops")

# each command in a fresh interpreter would cost a second each; one interpreter runs them all
SCRIPT = """
import contextlib, io, sys
from worldsim.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    for command in sys.argv[2:]:
        assert main([command, "--help"]) == 0, command
        assert main(["config", "show", command]) == 0, command
    assert main(["sample", "frames=-1"]) == 2
    assert main(["record", "steps=0"]) == 2
    assert main(["train", "data.batch_size=-1"]) == 2
    assert main(["train-vae", "data.batch_size=-1"]) == 2
print(sorted(m for m in sys.argv[1].split(",") if m in sys.modules))
"""


def test_help_config_show_and_bad_knobs_import_no_heavy_library():
    args = [sys.executable, "-c", SCRIPT, ",".join(HEAVY), *JOBS]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines()[-1] == "[]"


def test_the_torch_free_mode_names_are_the_registry_s():
    from worldsim.diffusion.modes import MODES
    from worldsim.diffusion.sampling_config import MODE_NAMES

    assert tuple(MODES) == MODE_NAMES
