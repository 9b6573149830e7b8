"""The three ways a model enters the bench: a baseline or one of our checkpoints by name
(`baseline:copy_last`, `pretrained:crafter`, a path), or a user's adapter by import path
(`my_lab.adapter:make_model`, a factory `f(device) -> VideoModel`, see docs/bench_adapter.md).
A folder of videos enters through `evals.bench_videos.read_predictions` instead."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evals.baselines import require_model

if TYPE_CHECKING:  # imported where a model loads: `require_bench_model` needs no torch
    from evals.suite import VideoModel

ADAPTER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")  # module.path:factory
NAMED = ("baseline:", "pretrained:", "http://", "https://")


def is_adapter(spec: str) -> bool:
    """True for `module:factory` (not a baseline, shipped model, URL or existing path)."""
    return bool(ADAPTER.match(spec)) and not spec.startswith(NAMED) and not Path(spec).exists()


def load_adapter(spec: str, device: str = "cpu") -> VideoModel:
    """Import `module`, call `factory(device)`, check the result has `predict`."""
    from evals.suite import VideoModel

    module_name, factory_name = spec.split(":")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # adapters next to where the user runs the bench
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(
            f"model={spec}: cannot import {module_name} ({err}); run from the directory that "
            "holds it or add it to PYTHONPATH"
        ) from err
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ValueError(f"model={spec}: {module_name} has no callable {factory_name}")
    model = factory(device)
    if not isinstance(model, VideoModel):
        raise ValueError(
            f"model={spec}: {factory_name}(device) returned {type(model).__name__}, which lacks "
            "predict(context, actions, prompts, horizon) (docs/bench_adapter.md)"
        )
    return model


def load_bench_model(spec: str, device: str = "cpu", seed: int = 0) -> VideoModel:
    """A model by name, path or adapter import path."""
    from evals.run import load_model

    if is_adapter(spec):
        return load_adapter(spec, device)
    return load_model(spec, device, seed=seed)


def require_bench_model(spec: str) -> None:
    """Refuse a model= that names a checkpoint that is not there before torch loads (seconds);
    an adapter is checked where it is imported."""
    if not is_adapter(spec):
        require_model(spec)
