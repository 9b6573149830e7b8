"""Predict every case of a `worldsim bench export` folder with a model, on any machine (a GPU one
without the simulators), into one predictions.npz (case_id -> (horizon, H, W, 3) uint8).

    python benchmarks/bench_predict_exported.py EXPORT_DIR OUT.npz pretrained:crafter cuda [TABLE]

A world model whose text encoder is not installed there reads the cases' prompts from TABLE, made
where it is: `python benchmarks/bench_predict_exported.py --embed EXPORT_DIR pretrained:crafter
TABLE` (the model's caption table plus every prompt of the export).

Then, where the simulators are: `python benchmarks/bench_predict_exported.py --unpack OUT.npz
PRED_DIR EXPORT_DIR` writes PRED_DIR/CASE_ID.npy and bench.json, and `worldsim bench score
PRED_DIR` scores them (the folder-of-videos path; .npy is exact).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from evals.bench_models import load_bench_model
from evals.model import from_model_frames, to_model_frames
from evals.suite import Clocked
from worldsim.models.text import TextTable


def prompts(export: Path) -> list[str]:
    """Every case's prompt in an export."""
    manifest = json.loads((export / "bench.json").read_text())
    return [
        json.loads((export / "cases" / c / "case.json").read_text())["prompt"]
        for c in manifest["cases"]
    ]


def embed(export: Path, model_spec: str, table: Path) -> None:
    """Save the model's caption table with every prompt of the export embedded."""
    module = load_bench_model(model_spec).module
    module.encode_text(prompts(export))
    module.text_table.save(table)


def predict_exported(
    export: Path, model_spec: str, device: str, table: str = "", batch: int = 8
) -> dict:
    """case_id -> prediction, batching cases of one size and length together."""
    manifest = json.loads((export / "bench.json").read_text())
    model = load_bench_model(model_spec, device)
    if table:
        model.module.set_text_table(TextTable.load(table))
    groups: dict[tuple, list[str]] = {}
    for case_id in manifest["cases"]:
        about = json.loads((export / "cases" / case_id / "case.json").read_text())
        key = (about["height"], about["width"], about["context"], about["horizon"])
        groups.setdefault(key, []).append(case_id)
    out = {}
    for (_, _, _, horizon), ids in groups.items():
        for i in range(0, len(ids), batch):
            chunk = ids[i : i + batch]
            d = [export / "cases" / c for c in chunk]
            context = to_model_frames(np.stack([np.load(p / "context.npy") for p in d]))
            actions = torch.from_numpy(np.stack([np.load(p / "actions.npy") for p in d]))
            prompts = [json.loads((p / "case.json").read_text())["prompt"] for p in d]
            if isinstance(model, Clocked):  # a case's frames start at its episode's reset
                model.at_step([0] * len(chunk))
            with torch.no_grad():
                pred = model.predict(context.to(device), actions.to(device), prompts, horizon)
            out.update(zip(chunk, from_model_frames(pred)))  # each (horizon, H, W, 3) uint8
            print(f"{len(out)}/{len(manifest['cases'])} cases", flush=True)
    return out


def unpack(npz: Path, folder: Path, export: Path) -> None:
    """predictions.npz -> folder/CASE_ID.npy plus the export's bench.json."""
    folder.mkdir(parents=True, exist_ok=True)
    with np.load(npz) as preds:
        for case_id in preds.files:
            np.save(folder / f"{case_id}.npy", preds[case_id])
    shutil.copy(export / "bench.json", folder / "bench.json")


if __name__ == "__main__":
    if sys.argv[1] == "--unpack":
        unpack(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    elif sys.argv[1] == "--embed":
        embed(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
    else:
        start = time.perf_counter()
        preds = predict_exported(Path(sys.argv[1]), sys.argv[3], sys.argv[4], *sys.argv[5:])
        np.savez_compressed(sys.argv[2], **preds)
        print(f"{len(preds)} predictions in {time.perf_counter() - start:.1f} s on {sys.argv[4]}")
