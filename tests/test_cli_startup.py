"""`worldsim CMD --help`, `config show CMD` and a bad knob answer without importing torch,
Lightning or a simulator (importing them took 10-30 s on a 2-core machine): a job module imports
at its top only what its `Config` needs, and the rest where its `run` needs it."""

from __future__ import annotations

import json
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


# a checkpoint that is not there is refused before torch loads: one line, nothing written
REFUSALS = """
import contextlib, io, json, sys
from worldsim.cli import main
for argv in json.loads(sys.argv[2]):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        print(json.dumps([main(argv), err.getvalue().splitlines()]), file=sys.__stdout__)
print(sorted(m for m in sys.argv[1].split(",") if m in sys.modules))
"""


def test_a_missing_checkpoint_or_store_is_refused_before_torch_loads(tmp_path):
    gone = tmp_path / "gone"
    world_model = (
        f"no world-model checkpoint at {gone}.pt; train one with `worldsim train`, or use a "
        "shipped one: pretrained:"
    )
    cases = {
        ("sample", f"ckpt={gone}.pt", f"out={gone}"): world_model,
        ("sample", "ckpt=pretrained:crafterr"): "did you mean pretrained:crafter?",
        ("control", f"ckpt={gone}.pt", "prompt=get_wood", f"out={gone}"): world_model,
        ("export", f"ckpt={gone}.pt", f"out={gone}.out.pt"): world_model,
        ("play", f"ckpt={gone}.pt"): world_model,
        ("train", f"init={gone}.pt", f"out={gone}"): world_model,
        ("encode", f"store={gone}", f"checkpoint={gone}.pt", f"out={gone}"): (
            f"no autoencoder checkpoint at {gone}.pt; train one with `worldsim train-vae`"
        ),
        ("encode", f"store={gone}", "checkpoint=pretrained:mujoco", f"out={gone}"): (
            f"no episode store at {gone}"  # the store, too, before torch
        ),
        ("train-vae", f"data.root={gone}", f"out={gone}"): f"no episode store at {gone}",
        ("eval", f"model={gone}.pt", f"out={gone}", f"cache={gone}.cache"): (
            f"model='{gone}.pt' is neither a checkpoint file nor 'baseline:NAME'"
        ),
    }
    script = [sys.executable, "-c", REFUSALS, ",".join(HEAVY), json.dumps(list(cases))]
    lines = subprocess.run(script, capture_output=True, text=True, check=True).stdout
    *answers, imported = lines.splitlines()
    for argv, (code, err), words in zip(cases, map(json.loads, answers), cases.values()):
        assert code == 2 and len(err) == 1 and words in err[0], (argv, code, err)
    assert imported == "[]"
    assert not any(tmp_path.iterdir())  # no out= folder made before the refusal


def test_the_torch_free_mode_names_are_the_registry_s():
    from worldsim.diffusion.modes import MODES
    from worldsim.diffusion.sampling_config import MODE_NAMES

    assert tuple(MODES) == MODE_NAMES
