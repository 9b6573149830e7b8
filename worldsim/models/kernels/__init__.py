"""Triton kernels for the DiT's elementwise work on CUDA, each with the PyTorch form it replaces
beside it in `worldsim.models.dit` (the CPU path, and the reference the tests compare against).

Inductor leaves this work in many small kernels that run well under the memory bandwidth: at
`dit_b` QK-norm with RoPE and the adaLN LayerNorm's backward took about 15 ms of a 104 ms step
(benchmarks/README). Each kernel here reads its inputs once and writes its outputs once.

Each op is a `torch.library.triton_op`, not an opaque `custom_op`: torch.compile traces into it,
launches the kernel from Inductor's generated code and compiles the copies and sums around it;
as opaque ops their host work ran eagerly at every call, a candidate for the 6 ms of a 98 ms
`dit_b` step in which the GPU ran no kernel (benchmarks/README, session 33).
"""

from __future__ import annotations

import torch

try:  # CPU wheels of torch ship without Triton; the DiT then runs its PyTorch forms everywhere
    from worldsim.models.kernels.ada_layer_norm import ada_layer_norm  # noqa: F401 (re-export)
    from worldsim.models.kernels.qk_norm_rope import qk_norm_rope  # noqa: F401 (re-export)

    AVAILABLE = True
except ImportError:
    AVAILABLE = False


def usable(x: torch.Tensor) -> bool:
    """True when the kernels can run on x: a CUDA tensor and Triton installed."""
    return AVAILABLE and x.is_cuda
