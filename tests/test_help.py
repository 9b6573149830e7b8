"""`worldsim CMD --help` for every job (purpose, knobs with types, values and field comments, two
examples) and `worldsim config show CMD` with the same comments, still valid YAML."""

from __future__ import annotations

import dataclasses

import pytest
from omegaconf import OmegaConf

from worldsim.cli import main
from worldsim.config import load_config
from worldsim.help import EXAMPLES, field_comments
from worldsim.jobs import JOBS, job_module


@pytest.mark.parametrize("command", list(JOBS))
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: worldsim {command} ")
    assert JOBS[command].help.split()[0] in text or f"`worldsim {command}" in text  # purpose
    for f in dataclasses.fields(job_module(command).Config):  # every top-level knob
        assert f"  {f.name}=" in text or f"  {f.name} (" in text, f.name
    assert all(example in text for example in EXAMPLES[command])
    assert main([command, "-h"]) == 0 and capsys.readouterr().out == text
    assert main(["help", command]) == 0 and capsys.readouterr().out == text


def test_help_shows_types_defaults_comments_and_group_files(capsys):
    assert main(["train", "--help", "train.max_steps=7"]) == 0
    text = capsys.readouterr().out
    line = next(line for line in text.splitlines() if "train.val_every=" in line)
    assert "train.val_every=1000" in line and " int " in line
    assert "training steps between validations" in line  # the field's own comment
    assert "train.max_steps=7" in text  # arguments before --help apply
    assert "model=NAME loads configs/model/NAME.yaml" in text and "dit_s" in text
    assert "wall-clock limit on fitting" in text  # comment inherited from the base TrainerConfig


def test_config_show_has_the_same_comments_and_stays_yaml(capsys):
    from worldsim.jobs.train import Config

    assert main(["config", "show", "train", "train.max_steps=7"]) == 0
    text = capsys.readouterr().out
    assert "val_every: 1000" in text and "# training steps between validations" in text
    merged = load_config(Config, ["train.max_steps=7"])
    shown = OmegaConf.merge(load_config(Config, []), OmegaConf.create(text))  # typed as merged
    assert shown == merged  # the comments change no value


def test_comments_above_a_field_and_of_a_base_class_are_found():
    from worldsim.jobs.quickstart import Config as Quickstart
    from worldsim.jobs.train import TrainerConfig

    assert "Orbit has camera motion" in field_comments(Quickstart)["env"]  # on the line above
    assert field_comments(TrainerConfig)["max_minutes"].startswith("wall-clock limit")


def test_data_and_config_help(capsys):
    assert main(["data", "--help"]) == 0
    text = capsys.readouterr().out
    assert "preview DIR" in text and "max_frames=128" in text and "rebuild=false" in text
    assert main(["config", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: worldsim config show CMD")


@pytest.mark.parametrize("argv", [["--help", "export"], ["help", "export"], ["export", "--help"]])
def test_help_before_or_after_a_command_shows_its_help(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("usage: worldsim export")
