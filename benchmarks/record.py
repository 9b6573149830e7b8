"""Write a benchmark's figures to benchmarks/results/<name>.json with the machine and the
command."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"
ENV_SETTINGS = (
    "MUJOCO_GL",
    "LP_NUM_THREADS",
    "OMP_NUM_THREADS",
    "NCCL_NVLS_ENABLE",
    "TORCHINDUCTOR_MAX_AUTOTUNE",
    "TORCHINDUCTOR_COORDINATE_DESCENT_TUNING",
)  # environment that changes the figures


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info = {
        "cpu_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def record(name: str, figures: dict[str, Any], results: Path = RESULTS) -> Path:
    """Save `figures` with the exact command line and machine in `results`; returns the path
    written."""
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{name}.json"
    settings = " ".join(f"{k}={os.environ[k]}" for k in ENV_SETTINGS if k in os.environ)
    command = f"{settings} python -m benchmarks.{Path(sys.argv[0]).stem} " + " ".join(sys.argv[1:])
    doc = {
        "benchmark": name,
        "command": command.strip(),
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "figures": figures,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    print(json.dumps(figures, indent=2))
    return path


def output_arguments(parser: argparse.ArgumentParser, smoke: str) -> None:
    """The options every GPU benchmark shares: --smoke (what it shrinks to), --device, --name,
    --results."""
    parser.add_argument("--smoke", action="store_true", help=smoke)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--name", default="", help="record as benchmarks/results/<name>.json")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the recorded json")


def fused_kernels_argument(parser: argparse.ArgumentParser) -> None:
    """--fused-kernels / --no-fused-kernels: the DiT's Triton kernels (default: the config's)."""
    parser.add_argument(
        "--fused-kernels",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the Triton kernels of QK-norm+RoPE and adaLN's LayerNorm (default: the config's)",
    )


def refuse_fused_without_triton(fused: bool, device: str) -> None:
    """Exit 2 when the kernels are asked for on CUDA without Triton: the run would time the
    PyTorch forms under the kernels' name."""
    from worldsim.models import kernels

    if fused and device.startswith("cuda") and not kernels.AVAILABLE:
        print(
            "--fused-kernels: Triton is not installed here; install it or drop the flag",
            file=sys.stderr,
        )
        sys.exit(2)
