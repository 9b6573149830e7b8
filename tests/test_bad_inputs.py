"""User mistakes are one line naming the file or key, exit code 2, found before any work starts:
a text file given as a checkpoint, a missing model, negative counts."""

from __future__ import annotations

import pytest

from worldsim.cli import main


def one_line_error(capsys, argv: list[str]) -> str:
    """Run the CLI; assert exit 2 with exactly one stderr line (no traceback) and return it."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("worldsim: error: "), err
    return err[0]


@pytest.mark.parametrize(
    "command",
    [
        ["sample", "ckpt={ckpt}", "mode=image", "input={store}"],
        ["eval", "model={ckpt}", "suite=fidelity", "episodes=1", "cache={tmp}/cache"],
        ["eval", "model=baseline:copy_last", "idm={ckpt}", "suite=control", "cache={tmp}/cache"],
        ["encode", "store={store}", "checkpoint={ckpt}", "out={tmp}/latents"],
        ["export", "ckpt={ckpt}", "out={tmp}/export.ckpt"],
    ],
    ids=["sample", "eval-model", "eval-idm", "encode", "export"],
)
def test_a_text_file_given_as_a_checkpoint_is_one_line_naming_it(
    command, small_store, tmp_path, capsys
):
    ckpt = tmp_path / "notes.ckpt"
    ckpt.write_text("not a checkpoint\n")
    fill = {"ckpt": ckpt, "store": small_store.root, "tmp": tmp_path}
    argv = [part.format(**fill) for part in command] + [f"out={tmp_path / 'out'}"] * (
        command[0] in ("sample", "eval")
    )
    assert str(ckpt) in one_line_error(capsys, argv)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "latents").exists()


def test_eval_names_a_missing_model_before_rolling_out_any_scenario(tmp_path, capsys):
    argv = ["eval", "model=runs/world_model/ema.ckpt", f"cache={tmp_path / 'cache'}"]
    assert "runs/world_model/ema.ckpt" in one_line_error(capsys, [*argv, f"out={tmp_path}/o"])
    assert not (tmp_path / "cache").exists()  # no scenario was rolled out


@pytest.mark.parametrize(
    "argv",
    [
        ["sample", "sampler.steps=-3"],
        ["sample", "frames=-8"],
        ["train", "train.max_steps=-3"],
        ["train-vae", "trainer.max_steps=-1"],
        ["record", "episodes=-2"],
    ],
)
def test_a_negative_count_is_one_line_naming_the_key(argv, capsys):
    key = argv[1].split("=")[0]
    assert f"{key}=" in one_line_error(capsys, argv)
