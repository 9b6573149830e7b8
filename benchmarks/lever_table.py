"""The runs of benchmarks/mfu_levers.sh as a markdown table: per run its lever's flags, step time,
the change against its model's same-session control (`dit_<m>_h200_best`), MFU with the counted
FLOPs and with model FLOPs, the first step's seconds (compilation included), and the GPU's idle
time a step from the profile's timeline (benchmarks/gpu_timeline.py): short gaps (launches) and
long ones (the GPU starved).

    python -m benchmarks.lever_table benchmarks/results/dit_*_h200_*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HEADER = (
    "| run | lever | step | vs best | MFU | MFU, model FLOPs | first step "
    "| GPU idle: launches, starved |",
    "|---|---|---|---|---|---|---|---|",
)


def lever_flags(command: str) -> str:
    """The flags a run adds to the script's shared ones (`--no-sampling` is the last of those)."""
    flags = command.split("--no-sampling")[-1].split("--name")[0].strip()
    return f"`{flags}`" if flags else "none (control)"


def percent(fraction: float | None) -> str:
    """A fraction as a percentage with one decimal; n/a when unknown (no GPU peak on a CPU)."""
    return "n/a" if fraction is None else f"{100 * fraction:.1f}%"


def idle(training: dict) -> str:
    """The profile's short and long GPU gaps a step; blank for a run without the timeline."""
    timeline = (training.get("top_kernels") or {}).get("timeline")
    if not timeline:
        return ""
    return f"{timeline['short_gaps_ms_per_step']:.1f}, {timeline['long_gaps_ms_per_step']:.1f} ms"


def table(paths: list[Path]) -> list[str]:
    """HEADER and one row per result file, in the order given."""
    runs = {path.stem: json.loads(path.read_text()) for path in paths}
    rows = list(HEADER)
    for name, run in runs.items():
        training = run["figures"]["training"]
        control = runs.get(name.split("_h200_")[0] + "_h200_best")
        change = ""
        if control and control is not run:
            ratio = training["step_s"] / control["figures"]["training"]["step_s"] - 1
            change = f"{100 * ratio:+.1f}%"
        mfu, model = (percent(training.get(k)) for k in ("mfu", "mfu_model_flops"))
        rows.append(
            f"| {name} | {lever_flags(run['command'])} | {1e3 * training['step_s']:.1f} ms "
            f"| {change} | {mfu} | {model} | {training.get('first_step_s', 0):.0f} s "
            f"| {idle(training)} |"
        )
    return rows


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]]
    missing = [str(p) for p in paths if not p.is_file()]
    if not paths or missing:
        print(f"lever_table: give existing result files ({', '.join(missing)})", file=sys.stderr)
        sys.exit(2)
    print("\n".join(table(paths)))


if __name__ == "__main__":
    main()
