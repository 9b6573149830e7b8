"""`worldsim pipeline`: stages run in order, reuse finished work, refuse a clash, split exports."""

import torch

import evals.toyworld  # noqa: F401  (registers worldsim/EvalToy-v0)
from worldsim.cli import main
from worldsim.training.world_model import export_checkpoint, load_world_model

SPEC = """
vars: {steps: 4}
stages:
  first:
    job: record
    out: ${out}/first
    args: [env.id=worldsim/EvalToy-v0, env.width=16, env.height=16, episodes=2,
           "steps=${vars.steps}"]
    cuda: [workers=4]
  second:
    job: record
    out: ${stages.first.out}_again
    args: [env.id=worldsim/EvalToy-v0, env.width=16, env.height=16, episodes=1, steps=3]
"""


def test_stages_run_then_are_reused_and_a_changed_config_is_refused(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    assert main(["pipeline", str(spec), f"out={out}"]) == 0
    printed = capsys.readouterr().out
    assert "[1/2] first: started (worldsim record out=" in printed
    assert "[2/2] second: finished in" in printed
    assert (out / "first").is_dir() and (out / "first_again").is_dir()
    assert sorted(p.name for p in (out / "stages").iterdir()) == ["first.json", "second.json"]

    assert main(["pipeline", str(spec), f"out={out}"]) == 0
    assert capsys.readouterr().out.count("done in a previous run, reusing it") == 2

    assert main(["pipeline", str(spec), f"out={out}", "vars.steps=5"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "stage 'first'" in err and "steps: 4 -> 5" in err and "overwrite=true" in err

    assert main(["pipeline", str(spec), f"out={out}", "vars.steps=5", "overwrite=true"]) == 0
    printed = capsys.readouterr().out
    assert "first: finished in" in printed
    assert "second: finished in" in printed  # it names first's output, so it is redone too


def test_unknown_device_and_empty_pipeline_are_one_line_errors(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["pipeline", str(spec), "device=tpu", f"out={tmp_path}"]) == 2
    assert main(["pipeline", f"out={tmp_path}"]) == 2


def test_an_override_of_a_stage_the_file_lacks_is_one_line_naming_the_stages(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    assert main(["pipeline", str(spec), f"out={out}", "stages.frist.enabled=false"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and "no stage 'frist' in this pipeline; its stages: first, second" in err[0]
    )
    assert not out.exists()  # the stage meant (first) did not run


def test_export_split_into_parts_loads_as_one_checkpoint(tmp_path):
    from tests.test_world_model import tiny_module

    module = tiny_module(action_dim=8, window=5)
    path = export_checkpoint(module, str(tmp_path / "dit.ckpt"), max_part_mb=0.05)
    parts = sorted(p.name for p in tmp_path.iterdir())
    assert len(parts) > 1 and parts[0] == "dit.ckpt.part0" and "dit.ckpt" not in parts
    assert all((tmp_path / p).stat().st_size <= 0.05 * 2**20 for p in parts)
    whole = load_world_model(export_checkpoint(module, str(tmp_path / "whole.ckpt")))
    joined = load_world_model(path)
    for a, b in zip(whole.model.parameters(), joined.model.parameters()):
        assert torch.equal(a, b)
