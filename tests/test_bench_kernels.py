"""bench_kernels: its PyTorch forms give the DiT's values and time both ways, and the Triton
specialisations it reads from a cache keep each argument's hints and drop source locations (CPU,
seconds; the kernels' own forms need CUDA)."""

from __future__ import annotations

import json

import torch

from benchmarks.bench_kernels import ada_case, qk_case, specialisations, time_forms


def test_the_pytorch_forms_are_timed_forward_and_backward():
    for fn, x in (qk_case(2, (2, 2, 2), 32, 2, "cpu"), ada_case(2, (2, 2, 2), 32, "cpu")):
        times = time_forms(fn, x, calls=1, forms=("pytorch",))
        assert set(times) == {"pytorch"}
        assert times["pytorch"]["forward_ms"] > 0 and times["pytorch"]["forward_backward_ms"] > 0


def test_the_qk_case_gives_q_k_v_in_attention_layout():
    fn, qkv = qk_case(2, (2, 2, 2), 32, 2, "cpu")
    q, k, v = fn(False, qkv)
    assert q.shape == k.shape == v.shape == (2, 2, 8, 16)  # (B, heads, N, head_dim)
    assert torch.equal(v[:, 1, :, 3], qkv[:, :, 2 * 32 + 16 + 3])  # v copied, head 1 channel 3


def test_specialisations_keep_the_hints_and_drop_locations(tmp_path):
    entry = tmp_path / "ABC"
    entry.mkdir()
    (entry / "_qk_norm_rope_forward.ttir").write_text(
        "module {\n  tt.func public @_qk_norm_rope_forward(%arg0: !tt.ptr<bf16> "
        '{tt.divisibility = 16 : i32} loc("qkv"(#loc)), %arg1: i32 loc("n"(#loc))) {\n}\n'
    )
    (entry / "_qk_norm_rope_forward.json").write_text(json.dumps({"num_warps": 4, "num_stages": 3}))
    (entry / "other_kernel.ttir").write_text("tt.func public @other_kernel() {}\n")
    found = specialisations(tmp_path, ("_qk_norm_rope_forward",))
    assert found == [
        {
            "kernel": "_qk_norm_rope_forward",
            "signature": "tt.func public @_qk_norm_rope_forward(%arg0: !tt.ptr<bf16> "
            "{tt.divisibility = 16 : i32}, %arg1: i32) {",
            "num_warps": 4,
            "num_stages": 3,
        }
    ]
