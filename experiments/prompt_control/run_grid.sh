#!/usr/bin/env bash
# The issue's Crafter measurement on a GPU machine: one process per task, then one results.json.
#   bash experiments/prompt_control/run_grid.sh CKPT [EPISODES] [OUT]
# e.g. bash experiments/prompt_control/run_grid.sh runs/game/ema.ckpt 50 runs/prompt_control
set -euo pipefail
CKPT=${1:?world model checkpoint}; EPISODES=${2:-50}; OUT=${3:-runs/prompt_control}
mkdir -p "$OUT"
POLICIES=[random,scripted,prompt,no_prompt,short_prompt,consensus]
for t in collect_wood place_table collect_drink eat_cow; do
  OMP_NUM_THREADS=3 python3 -m worldsim.cli control ckpt="$CKPT" tasks=[$t] policies=$POLICIES \
    episodes="$EPISODES" control.videos=2 text_table=experiments/prompt_control/short_prompts.npz \
    out="$OUT/$t" > "$OUT.$t.log" 2>&1 &
done
wait
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
from worldsim.control.report import write_html
out = Path(sys.argv[1])
parts = [json.loads((out / t / "results.json").read_text())
         for t in ("collect_wood", "place_table", "collect_drink", "eat_cow")]
merged = {**parts[0], "cells": {k: v for p in parts for k, v in p["cells"].items()}}
for cells in merged["cells"].values():  # videos relative to the merged page
    for t_cell in cells.values():
        for e in t_cell["episodes"]:
            if e.get("video"):
                e["video"] = f"{e['task']}/{e['video']}"
(out / "results.json").write_text(json.dumps(merged, indent=1))
write_html(out / "summary.html", merged)
print(out / "results.json")
PY
