"""`worldsim quickstart` end to end at toy size: every stage runs, a report, a rerun reuses it."""

from pathlib import Path

from worldsim.cli import main
from worldsim.config import CONFIG_DIR

TOY = str(CONFIG_DIR / "quickstart" / "toy.yaml")


def test_quickstart_runs_every_stage_then_reuses_them(tmp_path, capsys):
    out = tmp_path / "qs"
    assert main(["quickstart", TOY, f"out={out}"]) == 0
    printed = capsys.readouterr().out
    stages = sorted(p.stem for p in (out / "stages").glob("*.json"))
    assert stages == [
        "encode",
        "eval",
        "rollout",
        "sample-interpolate",
        "sample-rollout",
        "shipped-eval",
        "shipped-rollout",
        "shipped-sample",
        "train",
        "train-vae",
    ]
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "interpolate_00.mp4",
        "interpolate_00.png",
        "rollout_00.mp4",
        "rollout_00.png",
    ]
    html = (out / "report.html").read_text()
    assert "<img" in html and "ground_truth" in html and "model" in html
    for suite in ("fidelity", "consistency3d", "permanence", "physics"):
        assert suite in printed  # the summary table names every suite
    # beside the demonstration, the shipped model of the env's game (Orbit: pretrained:mujoco)
    assert "eval of pretrained:mujoco on worldsim/MujocoOrbit-v0" in printed
    assert "the demonstration model" in printed and "the shipped model pretrained:mujoco" in printed
    shipped_samples = sorted(p.name for p in (out / "shipped" / "samples").iterdir())
    assert shipped_samples == ["rollout_00.mp4", "rollout_00.png"]
    strips = [out / "samples" / "rollout_00.png", out / "samples" / "interpolate_00.png"]
    strips.append(out / "shipped" / "samples" / "rollout_00.png")  # in the stages' order
    assert f"frame strips of the samples -> {', '.join(map(str, strips))}\n" in printed
    assert (out / "shipped" / "report.html").is_file()
    notes = [line for line in printed.splitlines() if line.startswith("  fidelity: ")]
    assert notes and len(notes) == len(set(notes))  # both evals' notes, each printed once

    assert main(["quickstart", TOY, f"out={out}"]) == 0
    assert capsys.readouterr().out.count("done in a previous run, reusing it") == len(stages)


def test_quickstart_rejects_unknown_device_and_a_missing_shipped_model(tmp_path):
    assert main(["quickstart", "device=tpu", f"out={Path('/nonexistent')}"]) == 2
    # refused before the first stage: nothing is written
    assert main(["quickstart", "shipped=pretrained:nope", f"out={tmp_path / 'qs'}"]) == 2
    assert main(["quickstart", f"shipped={tmp_path / 'none.pt'}", f"out={tmp_path / 'qs'}"]) == 2
    assert not (tmp_path / "qs").exists()


def test_quickstart_refuses_an_out_folder_holding_other_files(tmp_path, capsys):
    (tmp_path / "README.md").write_text("a repository's root")
    assert main(["quickstart", f"out={tmp_path}"]) == 2
    assert "holds files no quickstart wrote" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # nothing written


def test_a_quickstart_cut_off_in_its_first_stage_resumes(tmp_path, monkeypatch):
    from worldsim.jobs import record

    def cut_off(cfg):
        Path(cfg.out).mkdir(parents=True)  # part of the first stage's output, then the cut
        raise KeyboardInterrupt

    monkeypatch.setattr(record, "run", cut_off)
    out = tmp_path / "qs"
    try:
        main(["quickstart", TOY, f"out={out}"])
    except KeyboardInterrupt:
        pass
    assert (out / "stages").is_dir()  # so a rerun is the same quickstart's, not refused
    monkeypatch.undo()
    from worldsim.jobs.quickstart import _check_out

    _check_out(out)  # no error: the rerun may resume
