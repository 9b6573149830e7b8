"""bench_dit's MFU levers: the candidate RoPE form gives the model's values, bad Inductor keys and
fused kernels asked for on CUDA without Triton are one line and exit 2, model FLOPs leave out a
fused attention backward's recompute, the step runs under the levers, and the GPU timeline splits
its gaps into launches and starvation (CPU, seconds)."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.bench_dit import (
    Levers,
    apply_rope_swap,
    dit_config,
    model_flops,
    set_inductor_options,
    training_step,
)
from benchmarks.gpu_timeline import gaps
from benchmarks.record import refuse_fused_without_triton
from worldsim.models import kernels
from worldsim.models.dit import DiT, DiTConfig, apply_rope, rope_tables


def test_swapped_rope_gives_the_models_values_and_gradients():
    rope = rope_tables((3, 4, 4), 32, 10000.0)
    x = torch.randn(2, 4, 48, 32, requires_grad=True)  # (B, heads, N, head_dim)
    y = torch.randn(2, 4, 48, 32)
    (grad,) = torch.autograd.grad((apply_rope(x, rope) * y).sum(), x)
    (swapped_grad,) = torch.autograd.grad((apply_rope_swap(x, rope) * y).sum(), x)
    assert torch.equal(apply_rope_swap(x, rope), apply_rope(x, rope))
    assert torch.equal(swapped_grad, grad)


def test_an_unknown_inductor_key_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit:
        set_inductor_options(["no_such_knob=1"])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_an_unknown_model_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit:
        dit_config("dit_nope", 16, 0)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dit_b" in err and "vae" not in err


def test_fused_kernels_on_cuda_without_triton_are_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    refuse_fused_without_triton(True, "cpu")  # the CPU runs the PyTorch forms: nothing to refuse
    refuse_fused_without_triton(False, "cuda")
    with pytest.raises(SystemExit) as exit:
        refuse_fused_without_triton(True, "cuda:0")
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_model_flops_leave_out_the_scores_a_fused_attention_backward_recomputes():
    q = k = v = torch.empty(2, 4, 64, 32, device="meta")  # (B, heads, N, head_dim)
    attention = torch.ops.aten._scaled_dot_product_efficient_attention
    with FlopCounterMode(display=False) as counter:
        out, lse, seed, offset = attention(q, k, v, None, True)
        grads = [True, True, True, False]
        torch.ops.aten._scaled_dot_product_efficient_attention_backward(
            out, q, k, v, None, out, lse, seed, offset, 0.0, grads
        )
    forward = 2 * 2 * (2 * 4 * 64 * 64 * 32)  # q k^T and the scores times v
    assert counter.get_total_flops() == forward * 7 // 2  # backward counted as 5 matmuls
    assert model_flops(counter) == 3 * forward  # backward: the 4 matmuls of the gradients


def test_the_step_runs_under_the_levers_and_counts_the_same_flops():
    cfg = DiTConfig(latent_channels=4, dim=64, depth=1, heads=4, action_dim=4)
    flops = []
    for levers in (Levers(sdpa="math"), Levers(fused_adamw=True, sdpa="math", pinned_levels=True)):
        step = training_step(DiT(cfg), cfg, 2, 2, 4, 4, "cpu", levers)
        with FlopCounterMode(display=False) as counter:
            step()
        flops.append(counter.get_total_flops())
    assert flops[0] == flops[1] > 0


def test_the_lever_table_compares_each_run_with_its_models_control(tmp_path):
    from benchmarks.lever_table import table

    def result(name: str, flags: str, step_s: float):
        training = {"step_s": step_s, "mfu": 0.37, "mfu_model_flops": 0.364, "first_step_s": 50}
        command = f"python -m benchmarks.bench_dit --no-sampling {flags} --name {name}"
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"command": command, "figures": {"training": training}}))
        return path

    paths = [result("dit_b_h200_best", "", 0.104), result("dit_b_h200_pinned", "--pinned", 0.1)]
    profiled = json.loads(paths[1].read_text())
    timeline = gaps([(0.0, 90e3), (90.004e3, 95e3), (99e3, 100e3)], steps=1)  # 4 µs, then 4 ms
    profiled["figures"]["training"]["top_kernels"] = {"timeline": timeline}
    paths[1].write_text(json.dumps(profiled))
    rows = table(paths)
    assert "none (control)" in rows[2] and "| 37.0% | 36.4% | 50 s |  |" in rows[2]
    assert "`--pinned`" in rows[3] and "| -3.8% |" in rows[3]
    assert rows[3].endswith("| 0.0, 4.0 ms |")


def test_the_timeline_counts_overlaps_once_and_splits_short_from_long_gaps():
    # two steps: kernels at 0-10 and 5-12 (another stream: busy 12), a 3 µs launch gap, 15-20,
    # then the GPU starved 100 µs, 120-130
    timeline = gaps([(120.0, 130.0), (0.0, 10.0), (15.0, 20.0), (5.0, 12.0)], steps=2)
    assert timeline["kernels_per_step"] == 2
    assert timeline["busy_ms_per_step"] == pytest.approx(27e-3 / 2)
    assert timeline["span_ms_per_step"] == pytest.approx(130e-3 / 2)
    assert timeline["short_gaps_ms_per_step"] == pytest.approx(3e-3 / 2)
    assert timeline["long_gaps_ms_per_step"] == pytest.approx(100e-3 / 2)
    assert timeline["largest_gaps_ms"] == [pytest.approx(0.1)]
    # busy and gaps make up the span
    parts = ("busy_ms_per_step", "short_gaps_ms_per_step", "long_gaps_ms_per_step")
    assert sum(timeline[k] for k in parts) == pytest.approx(timeline["span_ms_per_step"])
    assert gaps([], steps=3) == {}
