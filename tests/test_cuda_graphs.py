"""Spec of the CUDA-graph path: off CUDA the plain call; on CUDA, replays equal eager calls."""

from __future__ import annotations

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


def rollout(model, cuda_graphs: bool, device="cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    context = torch.randn(1, 2, 3, 4, 4, generator=g).to(device)
    actions = torch.randn(1, 7, 2, generator=g).to(device)
    runner = ModeRunner(model, EulerSampler(3), seed=0, cuda_graphs=cuda_graphs)
    return runner.rollout(context, 5, actions, window=4)


def test_on_a_cpu_the_graphed_path_is_the_plain_call():
    calls = []
    graphed = CudaGraphed(lambda x, y: calls.append(1) or x + y)
    assert torch.equal(graphed(torch.ones(2), torch.ones(2)), torch.full((2,), 2.0))
    assert calls == [1] and not graphed.graphs
    model = causal_dit()
    assert torch.equal(rollout(model, cuda_graphs=True), rollout(model, cuda_graphs=False))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_graph_replays_equal_the_eager_rollout():
    model = causal_dit("cuda")
    graphed, eager = rollout(model, True, "cuda"), rollout(model, False, "cuda")
    torch.testing.assert_close(graphed, eager, atol=1e-4, rtol=1e-4)
