"""Wall-clock of `worldsim quickstart` from scratch, per stage, with its summary table.

python -m benchmarks.bench_quickstart [--device cpu] [--out runs/bench_quickstart]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from benchmarks.record import record
from worldsim.cli import main as worldsim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/bench_quickstart")
    args = parser.parse_args()

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)  # time the whole job, not a rerun of finished stages
    start = time.perf_counter()
    if worldsim(["quickstart", f"device={args.device}", f"out={out}"]) != 0:
        raise SystemExit("quickstart failed")
    seconds = time.perf_counter() - start
    stages = {
        p.stem: round(json.loads(p.read_text())["seconds"], 1)
        for p in sorted((out / "stages").glob("*.json"))
    }
    report = json.loads((out / "report.json").read_text())
    scores = {
        suite: {row: r["metrics"].get(res["primary"]) for row, r in res["rows"].items()}
        for suite, res in report["suites"].items()
    }
    record(
        f"quickstart_{args.device}",
        {
            "total_seconds": round(seconds, 1),
            "total_minutes": round(seconds / 60, 2),
            "stage_seconds": stages,
            "primary_scores": scores,
        },
    )


if __name__ == "__main__":
    main()
