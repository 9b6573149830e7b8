"""`worldsim eval` end to end: report.json/.html for baselines and a tiny random DiT checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from worldsim.cli import main


@pytest.fixture(autouse=True)
def one_thread():
    """Small convs on 2 shared cores run far faster single-threaded."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TOY_ARGS = [
    "env.id=worldsim/EvalToy-v0",
    "env.width=32",
    "env.height=32",
    "episodes=3",
    "context=5",
    "horizon=8",
    "idm_episodes=8",
    "idm_train.steps=20",
    "progress=false",
    "videos=1",
]


def test_eval_all_suites_writes_json_and_html_with_videos_plots_and_ranking(tmp_path):
    out = tmp_path / "report"
    assert (
        main(
            [
                "eval",
                "suite=all",
                "model=baseline:linear",
                "corruptions=[teleport]",
                f"cache={tmp_path / 'sc'}",
                f"out={out}",
                *TOY_ARGS,
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert set(report["suites"]) == {
        "fidelity",
        "consistency3d",
        "permanence",
        "physics",
        "control",
    }
    fidelity = report["suites"]["fidelity"]
    assert set(fidelity["rows"]) == {
        "linear",
        "ground_truth",
        "copy_last",
        "noise",
        "corrupt:teleport",
    }
    assert len(fidelity["rows"]["linear"]["curves"]["psnr"]) == 8
    assert fidelity["ranking_ok"] is True
    assert "LPIPS unavailable" in " ".join(fidelity["notes"])  # no ImageNet trunk on this machine
    assert fidelity["rows"]["ground_truth"]["metrics"]["psnr"] == 100.0  # the cap, said in a note
    assert "reported as its cap, 100 dB" in fidelity["notes"][0]
    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 5 and 'src="videos/' in page
    assert (out / report["videos"][0]).stat().st_size > 0 and (out / "idm.pt").is_file()


def test_eval_counts_every_phase_on_one_progress_bar(tmp_path, capsys):
    """Recording the scenarios and the IDM's episodes, training the IDM and scoring share one bar,
    each phase counting its own units: 3 and 8 episodes, 20 IDM steps, 1 row x (rollout + 1
    suite). A second run finds the scenarios in the cache and counts them done."""
    args = ["eval", "suite=control", "baselines=[]", f"cache={tmp_path / 'sc'}", *TOY_ARGS]
    assert main([*args, f"out={tmp_path / 'a'}", "progress=true"]) == 0
    # stderr is not a terminal here: the bar's draws are lines (worldsim/progress_bar.py)
    bars = [line for line in capsys.readouterr().err.split("\n") if "%|" in line]
    assert all(line.startswith("eval: ") for line in bars), bars  # one bar, no other
    ends = [line.split("| ")[1].split(" [")[0] for line in bars if "100%" in line]
    assert ends == ["3/3", "8/8", "20/20", "2/2"], bars  # each phase ends at its own count
    assert "step/s" in bars[-2] and "it/s" in bars[-1], bars  # and in its own unit
    phases = [line.split(":")[1].strip() for line in bars]  # each phase has a line of its own
    named = ["record scenarios", "record IDM episodes", "train IDM", "predict and score"]
    assert list(dict.fromkeys(phases)) == named, bars
    assert main([*args, f"out={tmp_path / 'b'}", "progress=true"]) == 0
    bars = [line for line in capsys.readouterr().err.split("\n") if "%|" in line]
    assert bars[0].startswith("eval: record scenarios: 100%") and "3/3" in bars[0], bars
    assert main([*args, f"out={tmp_path / 'c'}"]) == 0  # TOY_ARGS: progress=false
    assert "%|" not in capsys.readouterr().err


def test_eval_report_names_the_episodes_it_scored(tmp_path):
    """The same seeds recorded into another cache give the same episodes_sha256, other seeds
    another: a rerun's report shows whether it scored the episodes of an earlier one."""

    def episodes_sha256(cache: str, seed: int) -> str:
        out = tmp_path / f"report_{cache}{seed}"
        args = ["eval", "suite=fidelity", f"seed={seed}", f"cache={tmp_path / cache}"]
        assert main([*args, f"out={out}", *TOY_ARGS]) == 0
        return json.loads((out / "report.json").read_text())["scenario"]["episodes_sha256"]

    first = episodes_sha256("a", 1)
    assert len(first) == 64 and first == episodes_sha256("b", 1) != episodes_sha256("b", 2)


def test_unknown_suite_fails_with_one_line_error(tmp_path, capsys):
    assert main(["eval", "suite=physic", f"out={tmp_path}", *TOY_ARGS]) == 2
    assert "unknown suite 'physic'" in capsys.readouterr().err


def test_eval_scores_a_dit_checkpoint_through_the_predictor_interface(tmp_path):
    pytest.importorskip("worldsim.predictor")
    from tests.test_world_model import tiny_module, tiny_vae
    from worldsim.training.world_model import export_checkpoint

    module = tiny_module(action_dim=4 * 2)  # time factor 4 x the toy env's 2 action dims
    module.latent_info.autoencoder = tiny_vae(tmp_path / "vae.ckpt")
    for p in module.model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    ckpt = export_checkpoint(module, str(tmp_path / "dit.ckpt"))
    out = tmp_path / "report"
    assert (
        main(
            [
                "eval",
                "suite=physics",
                f"model={ckpt}",
                "sampling.steps=2",
                "device=cpu",
                f"cache={tmp_path / 'sc'}",
                f"out={out}",
                *TOY_ARGS,
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    rows = report["suites"]["physics"]["rows"]
    assert (
        rows["model"]["metrics"]["physics_score"]
        < rows["ground_truth"]["metrics"]["physics_score"]
        == 1
    )


def test_suites_without_their_truth_are_refused_when_named_and_left_out_under_all(capsys):
    from types import SimpleNamespace

    from evals.run import suites_for_cases

    cases = [SimpleNamespace(truth={"instance": 0}, meta={"env_id": "worldsim/Crafter-v0"})]
    names = ["fidelity", "consistency3d", "physics"]
    assert suites_for_cases(names, cases, named=False) == ["fidelity", "physics"]
    assert "consistency3d left out" in capsys.readouterr().out
    with pytest.raises(ValueError, match="use suite=fidelity,physics"):
        suites_for_cases(names, cases, named=True)
