"""Baselines, corruptions, scenario caching, the colour reader and the report writer, each alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import evals.toyworld  # noqa: F401  (registers worldsim/EvalToy-v0)
from envs.make import EnvConfig
from evals.baselines import make_baseline
from evals.consistency3d import reproject
from evals.corruptions import ALL_CORRUPTIONS, CorruptedReplay, onset
from evals.report import (
    COLOURS,
    nice_ticks,
    numbered_steps,
    svg_plot,
    versus_copy_last,
    write_report,
)
from evals.scenarios import ScenarioConfig, load_cases, resimulated, store_path
from evals.segment import reader_for


@pytest.fixture(scope="module")
def cfg(tmp_path_factory) -> ScenarioConfig:
    return ScenarioConfig(
        env=EnvConfig(id="worldsim/EvalToy-v0", width=32, height=32),
        episodes=3,
        context=4,
        horizon=12,
        cache=str(tmp_path_factory.mktemp("sc")),
    )


def test_linear_extrapolation_continues_a_linear_ramp_and_copy_last_holds():
    ramp = (
        torch.linspace(-0.9, -0.5, 3).view(1, 3, 1, 1, 1).expand(2, 3, 3, 4, 5)
    )  # (B, Tc, C, H, W)
    pred = make_baseline("linear").predict(ramp, torch.zeros(2, 7, 1), ["", ""], 4)
    assert torch.allclose(pred[0, :, 0, 0, 0], torch.tensor([-0.3, -0.1, 0.1, 0.3]), atol=1e-6)
    assert torch.equal(make_baseline("copy_last").predict(ramp, None, [], 2)[:, 1], ramp[:, -1])


def test_noise_is_seeded_and_ground_truth_refuses_to_predict_unrevealed():
    ctx = torch.zeros(1, 2, 3, 4, 4)
    assert torch.equal(
        make_baseline("noise", seed=3).predict(ctx, None, [""], 2),
        make_baseline("noise", seed=3).predict(ctx, None, [""], 2),
    )
    with pytest.raises(RuntimeError, match="reveal"):
        make_baseline("ground_truth").predict(ctx, None, [""], 2)


def test_scenarios_use_held_out_seeds_and_are_cached_on_disk(cfg):
    cases = load_cases(cfg)
    assert [c.meta["seed"] for c in cases] == [1_000_000, 1_000_001, 1_000_002]
    assert (store_path(cfg) / "manifest.json").is_file()
    again = load_cases(cfg)
    np.testing.assert_array_equal(again[0].frames, cases[0].frames)
    assert cases[0].future.shape == (12, 32, 32, 3)


def test_corruptions_keep_the_context_and_change_the_future(cfg):
    cases = load_cases(cfg)
    for name in ALL_CORRUPTIONS:
        replay = CorruptedReplay(name, cfg)
        for case in cases:
            frames = replay.frames(case)
            np.testing.assert_array_equal(frames[: case.context], case.frames[: case.context])
            assert not np.array_equal(frames[onset(case) :], case.frames[onset(case) :]), (
                name,
                case.name,
            )


def test_altered_gravity_is_resimulated_from_the_same_seed_and_actions(cfg):
    base, heavy = load_cases(cfg), resimulated(cfg, gravity=-3.0)
    for a, b in zip(base, heavy):
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_array_equal(a.frames[0], b.frames[0])
        assert not np.allclose(a.truth["obj_position"][-1], b.truth["obj_position"][-1])


def test_colour_reader_reads_the_true_objects_back(cfg):
    read = 0
    for case in load_cases(cfg):
        masks = reader_for(case).masks(case.frames)  # (T, N, H, W)
        for n, obj in enumerate(case.objects):
            true = case.truth["instance"] == obj["id"]
            if true.sum() >= 50:  # an object glimpsed for a few pixels may be opened away
                read += 1
                assert (masks[:, n] & true).sum() / (masks[:, n] | true).sum() > 0.9
    assert read >= 4


def test_reprojection_with_the_same_pose_is_the_identity():
    ext, K = np.eye(4), np.array([[20.0, 0, 8], [0, 20, 6], [0, 0, 1]])
    u, v, z = reproject(np.full((12, 16), 3.0), K, ext, K, ext)
    assert (
        np.allclose(u[0, :3], [0.5, 1.5, 2.5])
        and np.allclose(v[:3, 0], [0.5, 1.5, 2.5])
        and np.allclose(z, 3)
    )


# a report's scenario account (worldsim/jobs/eval.py) for reports built by hand
TOY_SCENARIO = {
    "env": {"id": "toy", "width": 32, "height": 32},
    "cases": 1,
    "seed": 0,
    "context": 2,
    "horizon": 3,
    "episodes_sha256": "0" * 64,
}


def test_report_html_holds_a_table_plots_and_marks_a_ranking_violation(tmp_path):
    rows = {
        r: {"metrics": {"psnr": v}, "curves": {"psnr": [v, None, v - 1]}}
        for r, v in (("ground_truth", 100.0), ("copy_last", 5.0), ("noise", 9.0))
    }
    report = {
        "model": "baseline:copy_last",
        "scenario": TOY_SCENARIO,
        "suites": {
            "fidelity": {
                "primary": "psnr",
                "higher_is_better": True,
                "ranking_ok": False,
                "rows": rows,
            }
        },
        "videos": [],
        "videos_legend": "",
    }
    _, html = write_report(report, tmp_path)
    page = html.read_text()
    assert "fidelity VIOLATED" in page and page.count("<polyline") == 3 and "<td>100</td>" in page
    assert svg_plot({"a": [None, None]}, "empty").startswith("<p>")


def test_report_says_on_which_suites_the_model_beats_copy_last(tmp_path):
    def suite(primary, higher, model, copy_last):
        rows = {"model": model, "copy_last": copy_last, "noise": 0.0, "ground_truth": 1.0}
        rows = {r: {"metrics": {primary: v}, "curves": {}} for r, v in rows.items()}
        return {"primary": primary, "higher_is_better": higher, "ranking_ok": None, "rows": rows}

    suites = {
        "fidelity": suite("psnr", True, 25.0, 20.0),
        "physics": suite("error", False, 0.5, 0.3),  # lower is better: copy-last wins
        "permanence": suite("iou", True, None, 0.6),
    }
    said = "model beats copy_last on 1 of 3 suites (fidelity); not on physics; n/a on permanence"
    assert versus_copy_last(suites) == said
    report = {"model": "m.ckpt", "scenario": TOY_SCENARIO, "suites": suites, "videos": []}
    report["videos_legend"] = ""
    _, html = write_report(report, tmp_path)
    assert said in html.read_text()
    del suites["fidelity"]["rows"]["model"]  # a baseline's own eval has no model row
    assert versus_copy_last(suites) == ""


def test_a_report_write_that_fails_midway_keeps_the_previous_report(tmp_path, monkeypatch):
    report = {"model": "m.ckpt", "scenario": TOY_SCENARIO, "suites": {}, "videos": []}
    write_report(report, tmp_path)
    before = {name: (tmp_path / name).read_text() for name in ("report.json", "report.html")}

    def cut_short(path, text):  # a disk that fills up half way through the file
        with open(path, "w") as fh:
            fh.write(text[: len(text) // 2])
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", cut_short)
    with pytest.raises(OSError):
        write_report({**report, "model": "other.ckpt"}, tmp_path)
    monkeypatch.undo()
    assert {name: (tmp_path / name).read_text() for name in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_scenario_cache_is_keyed_by_the_recording_code(cfg, monkeypatch):
    """A planner change records different episodes from the same seeds: the cached store of the
    old code must not be read as the new one."""
    from evals import scenarios

    crafter = scenarios.recorder_code("worldsim/CrafterReward-v0")
    assert crafter == scenarios.recorder_code("worldsim/CrafterCollectWood-v0")  # one package
    assert crafter != scenarios.recorder_code("worldsim/DoomMyWayHome-v0")
    before = store_path(cfg)
    monkeypatch.setattr(scenarios, "recorder_code", lambda env_id: "edited planner")
    assert store_path(cfg) != before


def test_a_plot_spans_the_model_and_copy_last_and_clips_a_far_calibration_row():
    """Ground truth at the 100-dB PSNR cap flattened the model and copy-last into the bottom
    ~15% of the quickstart's plots."""
    curves = {"ground_truth": [100.0] * 3, "model": [23.0, 21.0, 20.0], "copy_last": [20.0, 19, 18]}
    plot = svg_plot(curves, "fidelity: psnr vs horizon")
    assert "ground_truth (clipped)" in plot and "model (clipped)" not in plot
    # the axis: their span and a 10% margin (17.5-23.5), labelled at round values within it
    assert all(f">{v}<" in plot for v in (18, 20, 22)) and ">23.5<" not in plot
    assert all(f">{step}<" in plot for step in (1, 2, 3))  # the horizon steps
    assert COLOURS[1] in plot.split("<polyline")[-1]  # the model's line drawn last, on top


def test_a_row_hidden_under_the_model_says_so_and_the_last_step_is_numbered():
    """noise's 0 iou lay exactly under the model's line; a 12-step axis read 1, 3, ..., 11."""
    curves = {"noise": [0.0] * 12, "model": [0.0] * 12, "copy_last": [0.5] * 12}
    plot = svg_plot(curves, "permanence: iou vs horizon")
    assert "noise (under model)" in plot and "copy_last (" not in plot
    assert [i + 1 for i in numbered_steps(12)] == [2, 4, 6, 8, 10, 12]
    assert numbered_steps(3) == [0, 1, 2]


def test_nice_ticks_are_round_values_inside_the_span():
    assert nice_ticks(-0.08, 0.88) == [0.0, 0.2, 0.4, 0.6, 0.8]  # an iou axis: no "-0", no -0.08
    assert nice_ticks(17.5, 23.5) == [18, 20, 22]
    assert nice_ticks(0.013, 0.0451) == [0.02, 0.03, 0.04]
    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]  # both ends when they are round
    assert nice_ticks(5.0, 5.0) == [5.0]
