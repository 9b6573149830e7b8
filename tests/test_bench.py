"""`worldsim bench` on the tiny split of worldsim-phys-v2 (one case per group, seconds on a CPU)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from evals.baselines import CopyLastFrame
from evals.bench_cases import (
    CaseMismatchError,
    check_checksums,
    read_checksums,
    regenerate,
)
from evals.bench_ceiling import ceiling_scores, normalised_table
from evals.bench_report import voe_table
from evals.bench_run import score_videos, unsupported_groups
from evals.bench_spec import load_spec
from evals.bench_stats import bootstrap_interval, paired_difference, summarise
from evals.bench_voe import by_kind, case_accuracies, voe_pair_scores
from evals.voe_pairs import KINDS
from tests.test_world_model import tiny_module
from worldsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = "worldsim-phys-v2"  # the default
V1 = "worldsim-phys-v1"  # published before v2: still loadable, unchanged


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    """A fresh case cache (as in a fresh clone), filled with two recording workers."""
    return str(tmp_path_factory.mktemp("bench_cache"))


@pytest.fixture(scope="module")
def tiny(cache):
    spec = load_spec(SPEC)
    return spec, regenerate(spec, "tiny", cache, workers=2)


def bench(*args: str, cache: str) -> int:
    return main(["bench", *args, f"cache={cache}", "progress=false"])


@pytest.fixture(scope="module")
def rows(tiny, cache, tmp_path_factory) -> Path:
    """copy_last and noise scored on the tiny split, as RESULTS/SPEC/tiny/ROW/."""
    results = tmp_path_factory.mktemp("results")
    for row in ("copy_last", "noise"):
        args = ("run", SPEC, "split=tiny", f"model=baseline:{row}", "ceiling=false", "voe=false")
        assert bench(*args, f"out={results / SPEC / 'tiny' / row}", cache=cache) == 0
    return results


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(1).normal(3.0, 1.0, 40)
    lo, hi = bootstrap_interval(values, seed=7)
    assert (lo, hi) == bootstrap_interval(values, seed=7)
    assert lo < values.mean() < hi and hi - lo < 1.5
    assert bootstrap_interval(values, seed=8) != (lo, hi)


def test_undefined_metrics_are_na_never_a_fallback():
    assert summarise([np.nan, np.nan]) == {"mean": None, "lo": None, "hi": None, "n": 0}
    one = summarise([np.nan, 0.5])
    assert one["mean"] == 0.5 and one["lo"] is None and one["n"] == 1


def test_paired_difference_flags_a_real_difference_only():
    rng = np.random.default_rng(0)
    a = {f"c{k}": float(v) for k, v in enumerate(rng.normal(0, 1, 30))}
    shifted = {k: v + 1.0 for k, v in a.items()}
    noisy = {k: v + float(rng.normal(0, 0.01)) for k, v in a.items()}
    assert paired_difference(a, shifted)["significant"] is True
    assert paired_difference(a, noisy)["significant"] is False


def test_tiny_split_regenerates_the_shipped_pack_with_two_workers(tiny):
    spec, cases = tiny
    assert [c.case_id for c in cases] == [f"{g.name}-0000" for g in spec.groups]
    pack = check_checksums(spec, cases)  # the pack was written from the full split, two workers
    assert pack.exact + len(pack.near) == len(cases)


def test_v1_is_unchanged_and_v2_differs_from_it_only_in_occlude(tiny, cache):
    v1 = load_spec(V1)
    check_checksums(v1, regenerate(v1, "tiny", cache))
    old, new = (read_checksums(load_spec(s)) for s in (V1, SPEC))
    assert old.keys() == new.keys()
    assert [k for k in old if old[k] != new[k]] == [f"occlude-{k:04d}" for k in range(32)]


def test_every_voe_kind_has_pairs_and_the_simulator_tells_them_all(tiny):
    spec, cases = tiny
    scores = voe_pair_scores("ground_truth", None, cases)
    kinds = by_kind(scores)
    assert {k for k, s in kinds.items() if s["n"]} == set(KINDS)
    assert all(s["mean"] == 1.0 for s in kinds.values())
    assert all(v == 1.0 for v in case_accuracies(scores).values())
    board = "\n".join(voe_table([{"model": "ground_truth", "voe_by_kind": kinds}]))
    assert "| vanish (1 pairs) ↑ |" in board and "| ground_truth | 1 | 1 [1, 1] |" in board


def test_groups_a_world_model_cannot_take_are_named_and_skipped(tiny):
    _, cases = tiny
    module = tiny_module(action_dim=12)
    width = 12 // module.latent_info.time_factor  # per-frame actions the model takes
    skipped = unsupported_groups(module, cases)
    assert set(skipped) == {c.spec.group for c in cases if c.case.actions.shape[-1] > width}
    assert "crafter" in skipped and f"the model takes {width}" in skipped["crafter"]
    assert unsupported_groups(CopyLastFrame(), cases) == {}


def test_a_last_bit_change_is_within_tolerance_and_a_real_change_is_named(tiny):
    spec, cases = tiny
    changed = cases[2]
    original, truth = changed.case.frames, changed.case.truth
    try:
        changed.case.frames = original.copy()
        changed.case.frames[-1, 0, 0, 0] ^= 1  # one grey level on one pixel: a renderer's drift
        pack = check_checksums(spec, cases)
        assert list(pack.near) == [changed.case_id] and 0 < pack.near[changed.case_id]["frames"]
        assert changed.case_id in pack.note() and "within tolerance" in pack.note()
        changed.case.frames[-1, :16] = 255 - changed.case.frames[-1, :16]  # a different picture
        with pytest.raises(CaseMismatchError, match=f"{changed.case_id} .* frames by"):
            check_checksums(spec, cases)
        changed.case.frames = original
        changed.case.truth = {**truth, "obj_position": truth["obj_position"] + 0.01}  # 1 cm
        with pytest.raises(CaseMismatchError, match="obj_position by 0.01 "):
            check_checksums(spec, cases)
    finally:
        changed.case.frames, changed.case.truth = original, truth


def test_run_writes_json_html_and_a_leaderboard_row(rows):
    out = rows / SPEC / "tiny" / "copy_last"
    result = json.loads((out / "results.json").read_text())
    assert result["bench"] == SPEC and result["version"] == 2 and result["cases"] == 7
    psnr = result["summary"]["fidelity.psnr"]
    assert psnr["n"] == 7 and psnr["lo"] <= psnr["mean"] <= psnr["hi"]
    assert result["summary"]["consistency3d.warp_error"]["n"] == 2  # orbit and doom feed it
    assert "fidelity.psnr" in (out / "report.html").read_text()
    assert re.search(r"\| copy_last \| [\d.]+ \[", (out / "leaderboard_row.md").read_text())


def test_ceiling_is_cached_and_normalises_per_case(tiny, tmp_path):
    spec, cases = tiny
    bounce = [c for c in cases if c.spec.group == "bounce"]
    ceiling = ceiling_scores(spec, "tiny", bounce, str(tmp_path))
    np.testing.assert_equal(ceiling_scores(spec, "tiny", bounce, str(tmp_path)), ceiling)  # cached
    copy_last = score_videos(
        bounce, {c.case_id: [c.case.frames[4:5].repeat(16, 0)] for c in bounce}
    )
    table = normalised_table(copy_last, ceiling)
    assert 0 <= table["physics.physics_score"]["mean"] <= 1


def test_exported_lossless_truth_scores_exactly_as_the_ground_truth_row(tiny, cache, tmp_path):
    export = tmp_path / "export"
    assert bench("export", str(export), "split=tiny", "truth=lossless", cache=cache) == 0
    manifest = json.loads((export / "bench.json").read_text())
    first = export / "cases" / manifest["cases"][0]
    assert np.load(first / "context.npy").shape == (5, 64, 64, 3)
    assert np.load(first / "actions.npy").shape[0] == 21
    off = ("ceiling=false", "voe=false")
    assert bench("score", str(export / "truth"), *off, f"out={tmp_path / 'f'}", cache=cache) == 0
    truth_args = ("run", SPEC, "split=tiny", "model=baseline:ground_truth", *off)
    assert bench(*truth_args, f"out={tmp_path / 'gt'}", cache=cache) == 0
    folder, truth = (
        json.loads((tmp_path / d / "results.json").read_text())["per_case"] for d in ("f", "gt")
    )
    for case_id, scores in truth.items():
        for metric, value in scores["metrics"].items():
            got = folder[case_id]["metrics"][metric]
            assert (got is None) == (value is None), (case_id, metric)
            assert value is None or abs(got - value) <= 1e-6, (case_id, metric, got, value)


def test_the_documented_adapter_runs_through_the_bench(tiny, cache, tmp_path, monkeypatch):
    doc = (ROOT / "docs" / "bench_adapter.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 30  # the 30 lines
    (tmp_path / "my_adapter.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    args = ("run", SPEC, "split=tiny", "model=my_adapter:make_model", "ceiling=false", "voe=false")
    assert bench(*args, f"out={tmp_path / 'mine'}", cache=cache) == 0
    result = json.loads((tmp_path / "mine" / "results.json").read_text())
    assert result["model"] == "my_adapter:make_model" and result["summary"]["fidelity.psnr"]["n"]


def test_compare_names_significant_differences(rows, capsys):
    a, b = (str(rows / SPEC / "tiny" / r / "results.json") for r in ("noise", "copy_last"))
    capsys.readouterr()
    assert main(["bench", "compare", a, b]) == 0
    psnr = next(line for line in capsys.readouterr().out.splitlines() if "fidelity.psnr" in line)
    assert "significant: copy_last better" in psnr


def test_compare_pairs_the_scores_normalised_to_the_ceiling_row(tmp_path, capsys):
    def row(name: str, iou: float) -> str:  # 8 cases, all at this permanence IoU
        cases = {f"c{i}": {"group": "g", "metrics": {"permanence.iou": iou}} for i in range(8)}
        path = tmp_path / SPEC / "small" / name / "results.json"
        path.parent.mkdir(parents=True)
        keys = {"bench": SPEC, "version": 2, "split": "small", "model": name, "interval": "95%"}
        path.write_text(json.dumps({**keys, "higher_is_better": {}, "per_case": cases}))
        return str(path)

    row("ceiling", 0.9)  # gap 0.1 to the perfect 1: "near" (gap 0.2) is at 50%, "far" at 20%
    far, near = row("far", 0.5), row("near", 0.8)
    capsys.readouterr()
    assert main(["bench", "compare", far, near, f"results={tmp_path}"]) == 0
    iou = next(line for line in capsys.readouterr().out.splitlines() if "iou / ceiling" in line)
    assert iou == "  permanence.iou / ceiling: 0.3 [0.3, 0.3] n=8: significant: near better"
    assert main(["bench", "compare", far, near, f"results={tmp_path / 'none'}"]) == 0
    assert "normalised metrics: n/a (no ceiling row" in capsys.readouterr().out


def test_leaderboard_carries_version_and_date(rows, cache, tmp_path):
    board, readme = tmp_path / "leaderboard.md", tmp_path / "README.md"
    readme.write_text("# project\n")
    args = ("leaderboard", SPEC, "split=tiny", f"results={rows}")
    assert bench(*args, f"leaderboard={board}", f"readme={readme}", cache=cache) == 0
    text = board.read_text()
    assert "version 2" in text and re.search(r"scored \d{4}-\d\d-\d\d", text)
    assert text.index("| copy_last |") < text.index("| noise |")
    assert "| copy_last |" in readme.read_text()


@pytest.mark.parametrize(
    "args, named",
    [
        (["run", SPEC, "split=huge"], "split='huge'"),
        (["run", "{tmp}/spec.yaml"], "lacks splits, groups"),
        (["compare", "{tmp}/other.json", "{tmp}/other.json"], "lacks bench, version"),
        (["compare", "{tmp}", "{tmp}/other.json"], "is not a file"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, named, tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text("name: x\nversion: 1\n")
    (tmp_path / "other.json").write_text('{"model": "m"}')
    assert main(["bench", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err
