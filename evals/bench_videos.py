"""The folder-of-videos path: export each case's context frames and actions so that any tool can
write `case_id.mp4`, and read such a folder back as predictions.

Exported files per case (DIR/cases/CASE_ID/): `context.npy` (Tc, H, W, 3) uint8 exactly,
`context.mp4` (lossless H.264 RGB, the same frames), `actions.npy` (Tc + horizon, A) float32,
`case.json` (prompt, context, horizon, height, width, fps, suites). DIR/bench.json names the spec,
its version, the split and the case ids. With `truth`, DIR/truth/CASE_ID.mp4 holds the true future
(the reference answer): scoring it reproduces the ground-truth row, exactly when lossless.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evals.bench_cases import BenchCase
from evals.bench_spec import BenchSpec
from worldsim.video import read_video, write_video

MANIFEST = "bench.json"
SUFFIXES = (".mp4", ".npy")  # a prediction's file: any video tool's mp4, or exact uint8 frames


def export_cases(
    spec: BenchSpec, split: str, cases: list[BenchCase], out: str, truth: str = ""
) -> Path:
    """Write every case's inputs under `out`; `truth` = "lossless" | "lossy" also writes the true
    futures to out/truth/ with that codec."""
    root = Path(out)
    for c in cases:
        case, d = c.case, root / "cases" / c.case_id
        d.mkdir(parents=True, exist_ok=True)
        fps = case.meta.get("fps", 15)
        np.save(d / "context.npy", case.frames[: case.context])
        np.save(d / "actions.npy", case.actions)
        write_video(d / "context.mp4", case.frames[: case.context], fps, lossless=True)
        h, w = case.frames.shape[1:3]
        about = {"prompt": case.prompt, "context": case.context, "horizon": case.horizon}
        about |= {"height": h, "width": w, "fps": fps, "suites": list(c.spec.suites)}
        (d / "case.json").write_text(json.dumps(about, indent=1))
        if truth:
            write_video(root / "truth" / f"{c.case_id}.mp4", case.future, fps, truth == "lossless")
    manifest = {"spec": spec.name, "version": spec.version, "split": split}
    manifest["cases"] = [c.case_id for c in cases]
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if truth:
        (root / "truth" / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return root


def folder_manifest(folder: str) -> dict | None:
    """The bench.json of an exported folder (in it or its parent), or None."""
    for d in (Path(folder), Path(folder).parent):
        if (d / MANIFEST).is_file():
            return json.loads((d / MANIFEST).read_text())
    return None


def read_prediction(path: Path, case) -> np.ndarray:
    """A video (.mp4, or .npy of uint8 frames: exact) of the horizon, or of context + horizon of
    which the last `horizon` frames are kept, as (horizon, H, W, 3) uint8, checked against the
    case's size."""
    video = np.load(path) if path.suffix == ".npy" else read_video(path)
    expected = case.future.shape
    if len(video) == case.frames.shape[0]:
        video = video[case.context :]
    if video.shape != expected or video.dtype != np.uint8:
        raise ValueError(
            f"{path} is {video.shape} {video.dtype}, expected uint8 {expected} (horizon, H, W, "
            f"3) or {case.frames.shape} with the context first; write {expected[0]} frames of "
            f"{expected[2]}x{expected[1]}"
        )
    return video


def _video_path(root: Path, case_id: str) -> Path | None:
    found = [root / f"{case_id}{suffix}" for suffix in SUFFIXES]
    return next((p for p in found if p.is_file()), None)


def read_predictions(folder: str, cases: list[BenchCase]) -> dict[str, np.ndarray]:
    """case_id -> prediction from folder/CASE_ID.mp4 (or .npy) for every case; a missing one is
    an error."""
    root = Path(folder)
    paths = {c.case_id: _video_path(root, c.case_id) for c in cases}
    missing = [k for k, p in paths.items() if p is None]
    if missing:
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise FileNotFoundError(
            f"{root} lacks {len(missing)} of {len(cases)} videos ({shown}); write CASE_ID.mp4 "
            "for every case listed in bench.json"
        )
    return {c.case_id: read_prediction(paths[c.case_id], c.case) for c in cases}
