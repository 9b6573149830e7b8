"""CUDA graphs for fixed-shape inference calls: at batch 1 a denoising step is launch-bound, and a
graph replays all its kernels with one launch.

`CudaGraphed(fn)` captures `fn(*args)` once per shape of its tensor arguments and replays it
after copying the new arguments into the captured buffers. Off CUDA (or disabled) it is a plain
call, so the same code runs on a CPU. `fn` must be capturable: tensors in, one tensor out, no host
syncs (`.item()`, `.tolist()` of device tensors, host-to-device copies), no randomness drawn
inside, and nothing left for torch.compile to compile after its warm-up. Under autocast, capture
needs `torch.autocast(..., cache_enabled=False)`.

Before a capture, a rehearsal calls `fn` once more under the rules of capture, where a host sync or
a recompilation raises instead of invalidating the capture: a shape whose rehearsal fails keeps the
plain call, with a one-line warning. A capture that fails anyway raises: after a failed capture
torch's allocator may still believe the capture is running (pytorch#180395), so the process cannot
safely go on. Python's garbage collector is paused while capturing: a collection there may free an
unreachable older graph, and destroying a graph during a capture invalidates that capture (recent
torch no longer collects before capturing, pytorch#161037).
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

Captured = tuple[torch.cuda.CUDAGraph, list, torch.Tensor]  # graph, input buffers, output buffer


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block (as it was before, after it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def capture_rules() -> Iterator[None]:
    """What a capture forbids, raising with no capture running: host syncs (CUDA's sync debug
    mode) and torch.compile recompilations (their compiling and autotuning would be captured)."""
    mode = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with torch.compiler.set_stance("fail_on_recompile"):
            yield
    finally:
        torch.cuda.set_sync_debug_mode(mode)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


class CudaGraphed:
    """`fn(*args) -> Tensor` replayed from a CUDA graph per argument shape; plain off CUDA and for
    shapes whose rehearsal shows they cannot be captured."""

    def __init__(self, fn: Callable[..., torch.Tensor], enabled: bool = True, warmup: int = 1):
        """`warmup`: plain calls before the rehearsal (lazy inits, compilation, autotuning)."""
        self.fn, self.enabled, self.warmup = fn, enabled, warmup
        # shapes -> the captured graph, or None: that shape keeps the plain call
        self.graphs: dict[tuple, Captured | None] = {}

    @property
    def replaying(self) -> bool:
        """Whether a captured graph serves calls (never off CUDA, when disabled or refused)."""
        return any(captured is not None for captured in self.graphs.values())

    @staticmethod
    def _key(args: tuple) -> tuple:
        return tuple(
            (a.shape, a.dtype, a.device) if isinstance(a, torch.Tensor) else a for a in args
        )

    def _name(self, args: tuple) -> str:
        """`fn` and the shapes of its tensor arguments, for messages."""
        shapes = ", ".join(str(tuple(a.shape)) for a in args if isinstance(a, torch.Tensor))
        return f"{getattr(self.fn, '__qualname__', repr(self.fn))} at shapes {shapes}"

    def _rehearse(self, static: list) -> str | None:
        """Why `fn(*static)` cannot be captured (its first line), or None when it can."""
        try:
            with capture_rules():
                self.fn(*static)
        except Exception as err:  # whatever it raised is the reason
            return _first_line(err)
        return None

    def _capture(self, args: tuple) -> Captured | None:
        """The graph of `fn(*args)`, or None (with a warning) when its rehearsal fails."""
        static = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
        gc.collect()  # unreachable older graphs are destroyed now, before any capture
        side = torch.cuda.Stream()  # warm-up off the default stream, as capture requires
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self.fn(*static)
            refusal = self._rehearse(static)
        torch.cuda.current_stream().wait_stream(side)
        if refusal is not None:
            # stacklevel: the caller of __call__, past torch.no_grad's wrapper
            warnings.warn(f"CUDA graphs off for {self._name(args)}: {refusal}", stacklevel=4)
            return None
        graph = torch.cuda.CUDAGraph()
        try:
            with gc_paused(), torch.cuda.graph(graph):
                out = self.fn(*static)
        except Exception as err:
            raise RuntimeError(
                f"CUDA graph capture of {self._name(args)} failed ({_first_line(err)}); torch "
                "cannot go on safely after a failed capture: run again with CUDA graphs off "
                "(cuda_graphs=false)"
            ) from err
        return graph, static, out

    @torch.no_grad()
    def __call__(self, *args) -> torch.Tensor:
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if not (self.enabled and tensors and tensors[0].is_cuda):
            return self.fn(*args)
        key = self._key(args)
        if key not in self.graphs:
            self.graphs[key] = self._capture(args)
        captured = self.graphs[key]
        if captured is None:
            return self.fn(*args)
        graph, static, out = captured
        for buffer, a in zip(static, args):
            if isinstance(a, torch.Tensor):
                buffer.copy_(a)
        graph.replay()
        return out.clone()  # the next replay overwrites `out`
