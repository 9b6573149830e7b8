"""Spec of the CUDA-graph path: off CUDA the plain call; on CUDA, replays equal eager calls; a
shape that cannot be captured keeps the plain call, and no garbage collection runs mid-capture."""

from __future__ import annotations

import gc
import warnings
from contextlib import contextmanager, nullcontext
from types import SimpleNamespace

import pytest
import torch

from worldsim.diffusion.cuda_graphs import CudaGraphed
from worldsim.diffusion.modes import ModeRunner
from worldsim.diffusion.samplers import EulerSampler
from worldsim.models.dit import DiT, DiTConfig


def causal_dit(device="cpu") -> DiT:
    torch.manual_seed(0)
    model = DiT(DiTConfig(3, dim=32, depth=2, heads=4, action_dim=2, attention="causal"))
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return model.eval().to(device)


def rollout(model, cuda_graphs: bool, device="cpu", eta: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    context = torch.randn(1, 2, 3, 4, 4, generator=g).to(device)
    actions = torch.randn(1, 7, 2, generator=g).to(device)
    runner = ModeRunner(model, EulerSampler(3, eta=eta), seed=0, cuda_graphs=cuda_graphs)
    return runner.rollout(context, 5, actions, window=4)


def test_on_a_cpu_the_graphed_path_is_the_plain_call():
    calls = []
    graphed = CudaGraphed(lambda x, y: calls.append(1) or x + y)
    assert torch.equal(graphed(torch.ones(2), torch.ones(2)), torch.full((2,), 2.0))
    assert calls == [1] and not graphed.graphs
    model = causal_dit()
    assert torch.equal(rollout(model, cuda_graphs=True), rollout(model, cuda_graphs=False))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("eta", [0.0, 0.5])  # with eta, each replay reads its own fresh noise
def test_on_cuda_graph_replays_equal_the_eager_rollout(eta):
    model = causal_dit("cuda")
    graphed, eager = rollout(model, True, "cuda", eta), rollout(model, False, "cuda", eta)
    torch.testing.assert_close(graphed, eager, atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_a_dead_graph_in_a_reference_cycle_does_not_break_a_capture():
    """The H200 crash: older graphs kept only by reference cycles (a `ModeRunner` holds a
    `CudaGraphed` of its own method) were destroyed by a collection inside a later capture."""
    calls = []

    def fn(a):
        calls.append(1)
        if len(calls) == 3:  # the capture: enough allocations to trigger a collection
            keep = [[] for _ in range(5000)]
            del keep
        if len(calls) == 1:  # the warm-up leaves a dead graph that only a collection frees
            dead = torch.cuda.CUDAGraph()
            with torch.cuda.graph(dead):
                a * 2
            cycle = {"graph": dead}
            cycle["self"] = cycle
        return a + 1

    x = torch.ones(4, device="cuda")
    assert torch.equal(CudaGraphed(fn)(x), x + 1)


class OnCuda(torch.Tensor):
    """A CPU tensor that says it is on CUDA: drives `CudaGraphed`'s graph path on a CPU."""

    @property
    def is_cuda(self) -> bool:
        return True


class FakeCuda:
    """torch.cuda's streams, graphs and sync debug mode on a CPU, recording what ran where."""

    def __init__(self, capture_error: str = ""):
        self.capturing, self.sync_mode, self.captures, self.replays = False, 0, 0, 0
        self.capture_error = capture_error  # raised when a capture ends, like an invalidated one

    def install(self, monkeypatch) -> FakeCuda:
        stream = SimpleNamespace(wait_stream=lambda other: None)
        fake = self

        class Graph:
            def replay(self):
                fake.replays += 1

        @contextmanager
        def graph(cuda_graph):
            fake.capturing, fake.captures = True, fake.captures + 1
            try:
                yield
            finally:
                fake.capturing = False
            if fake.capture_error:
                raise RuntimeError(fake.capture_error)

        modes = {"default": 0, "warn": 1, "error": 2}
        for name, value in {
            "Stream": lambda: stream,
            "current_stream": lambda: stream,
            "stream": lambda s: nullcontext(),
            "CUDAGraph": Graph,
            "graph": graph,
            "get_sync_debug_mode": lambda: self.sync_mode,
            "set_sync_debug_mode": lambda m: setattr(self, "sync_mode", modes.get(m, m)),
        }.items():
            monkeypatch.setattr(torch.cuda, name, value)
        return self


def on_cuda(*shape: int) -> torch.Tensor:
    return torch.ones(shape).as_subclass(OnCuda)


def test_a_capture_follows_a_warm_up_and_a_rehearsal_under_capture_rules(monkeypatch):
    cuda, calls = FakeCuda().install(monkeypatch), []

    def fn(x):
        calls.append((cuda.capturing, cuda.sync_mode, gc.isenabled()))
        return x * 2

    graphed = CudaGraphed(fn)
    for _ in range(2):
        assert torch.equal(graphed(on_cuda(3)), torch.full((3,), 2.0))
    # warm-up; rehearsal with host syncs raising; capture with the garbage collector paused
    assert calls == [(False, 0, True), (False, 2, True), (True, 0, False)]
    assert (cuda.captures, cuda.replays, cuda.sync_mode, gc.isenabled()) == (1, 2, 0, True)


class Finalized:
    """Records whether it was freed while a (fake) capture ran: a stand-in for a dead graph."""

    def __init__(self, cuda: FakeCuda, freed: list):
        self.cuda, self.freed, self.cycle = cuda, freed, self

    def __del__(self):
        self.freed.append(self.cuda.capturing)


def test_no_garbage_collection_frees_a_dead_graph_during_a_capture(monkeypatch):
    """The H200 crash: a collection inside a capture destroyed older, unreachable graphs."""
    cuda, freed = FakeCuda().install(monkeypatch), []

    def fn(x):
        if cuda.capturing:
            Finalized(cuda, freed)  # garbage only the cyclic collector frees
            keep = [[] for _ in range(5000)]  # enough allocations to trigger a collection
            del keep
        return x + 1

    CudaGraphed(fn)(on_cuda(2))
    gc.collect()
    assert freed == [False]


def test_a_shape_whose_rehearsal_syncs_keeps_the_plain_call(monkeypatch):
    cuda, calls = FakeCuda().install(monkeypatch), []

    def fn(x):
        calls.append(x.shape)
        if x.shape == (3,) and cuda.sync_mode == 2:  # what `.item()` does under capture rules
            raise RuntimeError("called a synchronizing CUDA operation\nmore detail")
        return x * 2

    graphed = CudaGraphed(fn)
    with pytest.warns(UserWarning, match=r"graphs off for .* \(3,\): called a synchronizing"):
        assert torch.equal(graphed(on_cuda(3)), torch.full((3,), 2.0))
    assert cuda.captures == 0 and len(calls) == 3  # warm-up, rehearsal, the plain call
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(graphed(on_cuda(3)), torch.full((3,), 2.0))  # plain again, silent
        graphed(on_cuda(4))  # another shape is still captured
    assert cuda.captures == 1 and len(calls) == 7


def test_a_recompile_in_the_rehearsal_keeps_the_plain_call(monkeypatch):
    FakeCuda().install(monkeypatch)
    scale = iter(range(1, 10))  # a new python int every call: a guard fails, dynamo recompiles
    compiled = torch.compile(lambda x, n: x * n, backend="eager", dynamic=False)
    graphed = CudaGraphed(lambda x: compiled(x, next(scale)))
    with pytest.warns(UserWarning, match="graphs off for .*recompile"):
        graphed(on_cuda(2))
    assert list(graphed.graphs.values()) == [None]


def test_a_failed_capture_raises_a_clear_error(monkeypatch):
    FakeCuda("operation failed due to a previous error during capture").install(monkeypatch)
    graphed = CudaGraphed(lambda x: x + 1)
    with pytest.raises(RuntimeError, match=r"capture of .* failed \(operation failed.*=false"):
        graphed(on_cuda(2))
    assert gc.isenabled()


def continuation_args(context: int) -> tuple[torch.Tensor, ...]:
    """Clean context (shown as it is), noise of one new latent frame, actions of both:
    `ModeRunner._continue`'s arguments."""
    g = torch.Generator().manual_seed(context)
    clip = torch.randn(1, context, 3, 4, 4, generator=g)
    return (
        clip,
        clip,
        torch.randn(1, 1, 3, 4, 4, generator=g),
        torch.randn(1, context + 1, 2, generator=g),
    )


@pytest.mark.parametrize("steps", [1, 2])
def test_the_cached_continuation_runs_the_same_path_every_call(monkeypatch, steps):
    """The capture runs what the warm-up and the rehearsal ran: a fresh context cache each call,
    prefilled, then every step seeing the same cache shapes."""
    model, trace = causal_dit(), []
    prefill, step = model.prefill, model.step

    def traced_step(x, levels, cache, *rest):
        trace.append(("step", x.shape, [tuple(kv.keys.shape) for kv in cache.blocks]))
        return step(x, levels, cache, *rest)

    monkeypatch.setattr(
        model,
        "prefill",
        lambda c, *r, **kw: trace.append(("prefill", c.shape)) or prefill(c, *r, **kw),
    )
    monkeypatch.setattr(model, "step", traced_step)
    runner, args = ModeRunner(model, EulerSampler(steps), seed=0), continuation_args(2)
    calls = []
    for _ in range(3):  # warm-up, rehearsal, capture
        trace.clear()
        out = runner._continue(*args)
        calls.append((list(trace), out))
    assert calls[0][0][0] == ("prefill", (1, 2, 3, 4, 4)) and len(calls[0][0]) == 1 + steps
    for path, out in calls[1:]:
        assert path == calls[0][0] and torch.equal(out, calls[0][1])


@pytest.mark.slow  # dynamo traces the blocks with dynamic shapes: ~1 min on a loaded CPU
def test_the_compiled_continuation_compiles_nothing_after_its_warm_up():
    """No recompilation of the compiled blocks between the warm-up and the capture at 1 step (the
    setting that crashed on the H200; its cause was a collection, this rules out a recompile)."""
    model = causal_dit()
    for block in model.blocks:
        block.compile(dynamic=True, backend="eager")
    runner, args = ModeRunner(model, EulerSampler(1), seed=0), continuation_args(2)
    warm = runner._continue(*args)
    with torch.compiler.set_stance("fail_on_recompile"):
        assert torch.equal(runner._continue(*args), warm)
