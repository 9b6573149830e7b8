"""CUDA graphs for fixed-shape inference calls: at batch 1 a denoising step is launch-bound, and a
graph replays all its kernels with one launch.

`CudaGraphed(fn)` captures `fn(*args)` once per shape of its tensor arguments and replays it
after copying the new arguments into the captured buffers. Off CUDA (or disabled) it is a plain
call, so the same code runs on a CPU. `fn` must be capturable: tensors in, one tensor out, no host
syncs (`.item()`, `.tolist()` of device tensors, host-to-device copies) and no randomness drawn
inside. Under autocast, capture needs `torch.autocast(..., cache_enabled=False)`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class CudaGraphed:
    """`fn(*args) -> Tensor` replayed from a CUDA graph per argument shape; plain off CUDA."""

    def __init__(self, fn: Callable[..., torch.Tensor], enabled: bool = True, warmup: int = 2):
        self.fn, self.enabled, self.warmup = fn, enabled, warmup
        # shapes -> (graph, input buffers, output buffer)
        self.graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, list, torch.Tensor]] = {}

    @staticmethod
    def _key(args: tuple) -> tuple:
        return tuple(
            (a.shape, a.dtype, a.device) if isinstance(a, torch.Tensor) else a for a in args
        )

    def _capture(self, args: tuple) -> tuple[torch.cuda.CUDAGraph, list, torch.Tensor]:
        static = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
        side = torch.cuda.Stream()  # warm-up off the default stream, as capture requires
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup):  # lazy inits (cuBLAS handles, autotuning) before capture
                self.fn(*static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self.fn(*static)
        return graph, static, out

    @torch.no_grad()
    def __call__(self, *args) -> torch.Tensor:
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if not (self.enabled and tensors and tensors[0].is_cuda):
            return self.fn(*args)
        key = self._key(args)
        if key not in self.graphs:
            self.graphs[key] = self._capture(args)
        graph, static, out = self.graphs[key]
        for buffer, a in zip(static, args):
            if isinstance(a, torch.Tensor):
                buffer.copy_(a)
        graph.replay()
        return out.clone()  # the next replay overwrites `out`
