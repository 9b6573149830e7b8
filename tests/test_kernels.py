"""The Triton kernels (worldsim/models/kernels) against the PyTorch forms they replace, forward and
backward. They run on CUDA, or on the CPU under Triton's interpreter (`TRITON_INTERPRET=1 pytest
tests/test_kernels.py` with Triton installed); CPU wheels of torch ship without Triton, so CI skips
them."""

import importlib
import os

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from worldsim.models import kernels
from worldsim.models.dit import DiT, DiTConfig, Rope, apply_rope, modulate, rope_tables

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.skipif(
    not kernels.AVAILABLE or (DEVICE == "cpu" and os.environ.get("TRITON_INTERPRET") != "1"),
    reason="needs Triton, and CUDA or TRITON_INTERPRET=1",
)


def leaves(*tensors):
    """fp32 copies on DEVICE that take gradients, beside the float64 originals."""
    return [t.detach().float().to(DEVICE).requires_grad_() for t in tensors]


def scrambled(x: torch.Tensor) -> torch.Tensor:
    """x's values in memory laid out batch-second (dense, not contiguous), as a compiled graph
    may hand a custom op its inputs."""
    return x.transpose(0, 1).contiguous().transpose(0, 1)


def assert_close(fused, reference, what):
    scale = reference.abs().max().item() + 1e-12
    error = (fused.detach().double().cpu() - reference.detach().cpu()).abs().max().item()
    assert error <= 1e-5 * scale, f"{what}: off by {error:.3g} of {scale:.3g}"


def test_qk_norm_rope_matches_rmsnorm_then_rope():
    torch.manual_seed(0)
    b, heads, head_dim, grid = 2, 3, 16, (2, 3, 5)  # 30 tokens: the last program is part empty
    rope = rope_tables(grid, head_dim, 10000.0)
    n = grid[0] * grid[1] * grid[2]
    qkv = torch.randn(b, n, 3 * heads * head_dim, dtype=torch.float64, requires_grad=True)
    w_q, w_k = (1 + 0.1 * torch.randn(2, head_dim, dtype=torch.float64)).unbind()
    w_q.requires_grad_(), w_k.requires_grad_()

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=heads)
    tables = Rope(rope.cos.double(), rope.sin.double())
    reference = (apply_rope(rms(q, w_q), tables), apply_rope(rms(k, w_k), tables), v)
    inputs = leaves(qkv, w_q, w_k)
    projection = scrambled(inputs[0])
    fused = kernels.qk_norm_rope(
        projection, *inputs[1:], rope.cos.to(DEVICE), rope.sin.to(DEVICE), heads, 1e-6
    )
    grads = [torch.randn_like(r) for r in reference]  # (B, H, N, D) each
    torch.autograd.backward(reference, grads)
    torch.autograd.backward(fused, [scrambled(g.float().to(DEVICE)) for g in grads])
    for name, f, r in zip("qkv", fused, reference):
        assert f.shape == r.shape and f.is_contiguous()
        assert_close(f, r, name)
    for name, f, r in zip(("qkv", "w_q", "w_k"), inputs, (qkv, w_q, w_k)):
        assert_close(f.grad, r.grad, f"d {name}")


def test_ada_layer_norm_matches_layer_norm_then_modulate():
    torch.manual_seed(0)
    b, frames, tokens, dim = 2, 3, 70, 48  # 70 tokens: a frame's last chunk is part empty
    x = torch.randn(b, frames * tokens, dim, dtype=torch.float64, requires_grad=True)
    shift, scale = torch.randn(2, b, frames, dim, dtype=torch.float64).unbind()
    shift.requires_grad_(), scale.requires_grad_()
    reference = modulate(F.layer_norm(x, (dim,), eps=1e-6), shift, scale, frames)
    inputs = leaves(x, shift, scale)
    fused = kernels.ada_layer_norm(scrambled(inputs[0]), *inputs[1:], frames, 1e-6)
    grad = torch.randn_like(reference)
    reference.backward(grad)
    fused.backward(scrambled(grad.float().to(DEVICE)))
    assert_close(fused, reference, "y")
    for name, f, r in zip(("x", "shift", "scale"), inputs, (x, shift, scale)):
        assert_close(f.grad, r.grad, f"d {name}")


def test_dit_with_kernels_trains_as_without(monkeypatch):
    """A whole DiT step: the same output and parameter gradients with and without the kernels."""
    if DEVICE == "cpu":  # under the interpreter the kernels take CPU tensors
        monkeypatch.setattr(kernels, "usable", lambda x: True)
    cfg = DiTConfig(latent_channels=4, dim=64, depth=2, heads=4, action_dim=3)
    torch.manual_seed(0)
    plain = DiT(cfg).to(DEVICE)
    for p in plain.parameters():  # adaLN-Zero starts silent: give every branch a say
        torch.nn.init.normal_(p, std=0.05)
    fused = DiT(DiTConfig(**{**vars(cfg), "fused_kernels": True})).to(DEVICE)
    fused.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 4, 6, 6, device=DEVICE)  # (B, T, C, H, W)
    levels, actions = torch.rand(2, 3, device=DEVICE), torch.randn(2, 3, 3, device=DEVICE)
    outputs = []
    for model in (plain, fused):
        out = model(x, levels, actions)
        out.square().mean().backward()
        outputs.append(out)
    assert_close(outputs[1], outputs[0].double(), "velocity")
    for (name, p), q in zip(plain.named_parameters(), fused.parameters()):
        if p.grad is None:  # unused here (null action), in both
            assert q.grad is None, name
        else:
            assert_close(q.grad, p.grad.double(), f"d {name}")


@pytest.mark.skipif(DEVICE == "cpu", reason="torch.compile with the kernels: CUDA")
@pytest.mark.parametrize("how", ["model", "blocks"])
def test_compiled_dit_with_kernels(how):
    """Compiled as `bench_dit --compile model` and as `worldsim train` (blocks, dynamic shapes)."""
    cfg = DiTConfig(latent_channels=4, dim=64, depth=2, heads=4, action_dim=3, fused_kernels=True)
    torch.manual_seed(0)
    eager = DiT(cfg).to(DEVICE)
    for p in eager.parameters():
        torch.nn.init.normal_(p, std=0.05)
    compiled = DiT(cfg).to(DEVICE)
    compiled.load_state_dict(eager.state_dict())
    if how == "model":
        compiled.compile(dynamic=False)
    else:
        compiled.compile_blocks()
    for frames in (3, 5):  # a second shape: the dynamic graph, or a recompile
        x = torch.randn(2, frames, 4, 6, 6, device=DEVICE)  # (B, T, C, H, W)
        levels = torch.rand(2, frames, device=DEVICE)
        actions = torch.randn(2, frames, 3, device=DEVICE)
        outputs = []
        for model in (eager, compiled):
            model.zero_grad()
            out = model(x, levels, actions)
            out.square().mean().backward()
            outputs.append(out)
        assert_close(outputs[1], outputs[0].double(), "velocity")
        for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
            if p.grad is not None:
                assert_close(q.grad, p.grad.double(), f"d {name}")


def test_kv_cache_with_kernels_equals_the_full_forward(monkeypatch):
    """`DiT.step` after `prefill` hands the QK kernel a slice of RoPE's tables (the new tokens')."""
    if DEVICE == "cpu":
        monkeypatch.setattr(kernels, "usable", lambda x: True)
    torch.manual_seed(0)
    cfg = DiTConfig(4, (1, 2, 2), 32, 2, 4, action_dim=3, attention="causal", fused_kernels=True)
    model = DiT(cfg).to(DEVICE).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    context, x = (
        torch.randn(2, 3, 4, 4, 6, device=DEVICE),
        torch.randn(2, 2, 4, 4, 6, device=DEVICE),
    )
    actions = torch.randn(2, 5, 3, device=DEVICE)
    levels = torch.cat([torch.zeros(2, 3), torch.rand(2, 2)], dim=1).to(DEVICE)
    with torch.no_grad():
        full = model(torch.cat([context, x], 1), levels, actions)[:, 3:]
        cached = model.step(
            x, levels[:, 3:], model.prefill(context, actions[:, :3]), actions[:, 3:]
        )
    assert_close(cached, full.double(), "velocity")


WRITES = {  # what each kernel stores to: torch.compile clones each, and a written graph input
    # costs the graph its CUDA graphs (benchmarks/README, session 34)
    "_qk_norm_rope_forward": {"q", "k", "v"},
    "_qk_norm_rope_backward": {"d_qkv", "d_wq", "d_wk"},
    "_ada_layer_norm_forward": {"y", "mean", "rstd"},
    "_ada_layer_norm_backward": {"d_x", "d_shift", "d_scale"},
}


@pytest.fixture
def launches(monkeypatch) -> list:
    """(kernel, its arguments by name) of each launch in one DiT forward and backward."""
    launched = []

    class Recording:
        def __init__(self, kernel):
            self.kernel = kernel

        def __getitem__(self, grid):
            def launch(*args, **kwargs):
                launched.append((self.kernel, {**dict(zip(self.kernel.arg_names, args)), **kwargs}))
                return self.kernel[grid](*args, **kwargs)

            return launch

    if DEVICE == "cpu":  # under the interpreter the kernels take CPU tensors
        monkeypatch.setattr(kernels, "usable", lambda x: True)
    for module in ("qk_norm_rope", "ada_layer_norm"):  # the package's names are the ops
        monkeypatch.setattr(
            importlib.import_module(f"{kernels.__name__}.{module}"), "wrap_triton", Recording
        )
    cfg = DiTConfig(latent_channels=4, dim=64, depth=1, heads=4, action_dim=3, fused_kernels=True)
    model = DiT(cfg).to(DEVICE)
    x = torch.randn(2, 3, 4, 6, 6, device=DEVICE)  # (B, T, C, H, W)
    model(x, torch.rand(2, 3, device=DEVICE), torch.randn(2, 3, 3, device=DEVICE)).sum().backward()
    assert {kernel.__name__ for kernel, _ in launched} == set(WRITES)
    return launched


@pytest.mark.skipif(DEVICE == "cpu", reason="torch.compile reads kernels for a GPU target")
def test_compile_reads_each_kernel_as_writing_its_outputs_alone(launches):
    """The reading that torch.compile's functionalisation clones by (`get_mutated_tensors`)."""
    from torch._higher_order_ops.triton_kernel_wrap import get_mutated_tensors, kernel_side_table

    no_constants = kernel_side_table.add_constant_args({})
    for kernel, arguments in launches:
        index = kernel_side_table.add_kernel(kernel)
        written = set(get_mutated_tensors(index, no_constants, arguments, {}))
        assert written == WRITES[kernel.__name__], kernel.__name__


@pytest.mark.skipif(DEVICE == "cpu", reason="compiles the launched kernels, not interpreted ones")
def test_kernels_stay_fp32_when_inductor_passes_floats_as_fp64(launches):
    """Inductor launches a user kernel with its float arguments (eps) as fp64; an fp64 eps once
    made every op after it fp64, up to 1.8x slower (benchmarks/README, session 35). Compiled here
    for an H100-class target with that signature, the kernels' TTIR holds no fp64 arithmetic."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    types = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
    for kernel, arguments in launches:
        signature, constexprs = {}, {}
        for i, name in enumerate(kernel.arg_names):
            value = arguments[name]
            if kernel.params[i].is_constexpr:
                signature[name], constexprs[(i,)] = "constexpr", value
            elif isinstance(value, torch.Tensor):
                signature[name] = "*" + types[value.dtype]
            else:
                signature[name] = "fp64" if isinstance(value, float) else "i32"
        source = ASTSource(kernel, signature=signature, constexprs=constexprs)
        ttir = triton.compile(source, target=GPUTarget("cuda", 90, 32)).asm["ttir"]
        fp64 = [line for line in ttir.splitlines() if "f64" in line and "tt.func" not in line]
        assert all("arith.truncf" in line for line in fp64), (kernel.__name__, fp64)
