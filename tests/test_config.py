"""Config loading: schemas, YAML files, groups and one-line errors."""

import subprocess
import sys

import pytest

from worldsim.cli import main
from worldsim.config import ConfigError, load_config, to_object
from worldsim.jobs.record import Config as RecordConfig


def test_overrides_and_yaml_merge_in_order(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("episodes: 5\nenv:\n  width: 48\n")
    cfg = to_object(load_config(RecordConfig, [str(path), "episodes=7", "env.height=40"]))
    assert (cfg.episodes, cfg.env.width, cfg.env.height) == (7, 48, 40)


def test_group_selection_loads_configs_env_file():
    cfg = to_object(load_config(RecordConfig, ["env=bounce", "env.width=32"]))
    assert cfg.env.id == "worldsim/MujocoBounce-v0" and cfg.env.width == 32


@pytest.mark.parametrize(
    "args, expected",
    [
        (["episdoes=3"], "unknown config key 'episdoes'; closest valid keys: episodes"),
        (["env.wdth=3"], "unknown config key 'env.wdth'; closest valid keys: env.width"),
        (["episodes=three"], "bad value for config key 'episodes'"),
        (["nosuch.yaml"], "config file 'nosuch.yaml' does not exist"),
        (["env=nosuch"], "no config 'nosuch' in group 'env'"),
        (["env=orbitt"], "did you mean 'orbit'? available: bounce"),
        (  # every wrong key at once, not one refusal after another
            ["episdoes=3", "workers=2", "env.wdth=3"],
            "2 unknown config keys: 'episdoes' (closest valid keys: episodes, progress); "
            "'env.wdth' (closest valid keys: env.width)",
        ),
    ],
)
def test_bad_config_is_a_one_line_error(args, expected):
    with pytest.raises(ConfigError) as err:
        load_config(RecordConfig, args)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_a_key_with_no_near_match_lists_every_valid_one():
    """eval's `model` is sample's `ckpt`: eval's refusal of `ckpt` listed eight keys of 21,
    alphabetically, without `model`."""
    from worldsim.jobs.eval import Config as EvalConfig

    with pytest.raises(ConfigError, match=r"'ckpt'; valid keys: baselines, .*, model, .*videos$"):
        load_config(EvalConfig, ["ckpt=pretrained:mujoco"])


def test_a_group_without_files_names_its_fields_to_set_instead():
    from worldsim.jobs.train_vae import Config as TrainVaeConfig

    with pytest.raises(ConfigError) as err:  # data=DIR meant data.root=DIR
        load_config(TrainVaeConfig, ["data=/a/store"])
    expected = "holds none; set its fields instead, e.g. data.root=/a/store (fields: root,"
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_a_group_without_files_offers_a_list_knob_in_brackets():
    from worldsim.jobs.train import Config as TrainConfig

    with pytest.raises(ConfigError) as err:  # data=DIR meant data.roots=[DIR], which then loads
        load_config(TrainConfig, ["data=/a/cache"])
    assert "e.g. data.roots=[/a/cache] (fields: roots," in str(err.value)
    assert to_object(load_config(TrainConfig, ["data.roots=[/a/cache]"])).data.roots == ["/a/cache"]


def test_an_empty_value_is_the_empty_string_and_a_list_knob_asks_for_brackets():
    from worldsim.jobs.train import Config as TrainConfig

    # `key=''` reaches us from a shell as `key=`: the empty string, not a null the str refuses
    assert to_object(load_config(TrainConfig, ["train.resume="])).train.resume == ""
    with pytest.raises(ConfigError, match=r"^data.roots takes a list: data.roots=\[...\]"):
        load_config(TrainConfig, ["data.roots=/tmp/x"])


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["record", "out={file}", "episodes=1"], "is a file; give a folder"),
        (["export", "out={folder}"], "is a folder; give the path of the file to write"),
        (["play", "port=99999"], "port=99999: give a TCP port from 1 to 65535"),
        (["control", "control.video=avi"], "control.video=avi is not one of mp4, gif"),
        (["control", "control.imagine.contrast=x"], "contrast=x is not one of empty, event"),
        (["train", "model.heads=5", "model.dim=64"], "model: dim=64 does not divide into heads=5"),
        (["train", "train.devices=zero"], "train: devices=zero: give a count of 1 or more"),
        (["train", "optim.decay_steps=9", "train.max_steps=8"], "decay_steps=9 must lie in [0, "),
    ],
)
def test_an_output_of_the_wrong_kind_or_a_bad_knob_is_refused_before_any_work(
    tmp_path, capsys, argv, expected
):
    file = tmp_path / "existing.txt"
    file.write_text("kept")
    argv = [a.format(file=file, folder=tmp_path) for a in argv]
    assert main(argv) == 2
    assert expected in capsys.readouterr().err
    assert file.read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == [file.name]


def test_an_unknown_sampling_key_names_the_nearest_dotted_key():
    from worldsim.training.world_model_config import SampleConfig, with_sampling

    fix = "unknown key 'steps'; closest valid keys: sampler.steps$"  # export's sampling=
    with pytest.raises(ConfigError, match=fix):
        with_sampling(SampleConfig(), "steps=-3")
    assert with_sampling(SampleConfig(), "sampler.steps=3,window=4").sampler.steps == 3


def test_unknown_key_inside_yaml_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("env:\n  hieght: 3\n")
    with pytest.raises(
        ConfigError, match="unknown config key 'env.hieght'; closest valid keys: env.height"
    ):
        load_config(RecordConfig, [str(path)])


def test_wrong_type_inside_yaml_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("workers: many\n")
    with pytest.raises(ConfigError, match="'workers'"):
        load_config(RecordConfig, [str(path)])


@pytest.mark.parametrize(
    ("text", "named"),
    [("env:\n  kwargs: [1]\n", "env.kwargs"), ("stages:\n  rec: [1, 2]\n", "stages.rec")],
)
def test_a_list_where_a_mapping_goes_is_named(text, named, tmp_path):
    from worldsim.jobs.pipeline import Config as PipelineConfig

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    schema = PipelineConfig if named.startswith("stages") else RecordConfig
    with pytest.raises(ConfigError, match=f"^{named} takes a mapping"):  # not a TypeError
        load_config(schema, [str(path)])


def test_cli_prints_one_line_error_and_exit_code_2_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "worldsim.cli", "rollout", "episodes=x", "steps=2"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("worldsim: error: bad value for config key 'episodes'")


def test_config_show_prints_merged_config(capsys):
    assert main(["config", "show", "rollout", "episodes=3"]) == 0
    assert "episodes: 3" in capsys.readouterr().out
