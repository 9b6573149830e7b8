#!/usr/bin/env bash
# The issue's measurements on a GPU machine: one process per task and seed chunk, then one
# merged results.json and summary.html in OUT.
#   [POLICIES=a,b,...] [TASKS="t ..."] [SEEDS=A:B] [SPLIT=K] [TABLE=T.npz] \
#       bash experiments/prompt_control/run_grid.sh CKPT [EPISODES] [OUT] [OVERRIDE...]
# SEEDS: held-out episodes A..B-1 (default 0:EPISODES, seed 200000 + k); SPLIT: that range in K
# chunks per task (tasks x K processes). Re-running the same command continues an interrupted grid
# (finished episodes are kept in OUT/<task>_<A>_<B>/episodes/); the merge reads every
# OUT/*/results.json, so runs of other seed ranges into the same OUT join it. OVERRIDEs go to
# every `worldsim control` (e.g. control.likelihood.candidates=16). TASKS: Crafter's four by
# default; TABLE: extra sentences, by default every task's short prompt (`short_prompt` reads
# them; `worldsim embed-text control_prompts=true out=experiments/prompt_control/short_prompts.npz`
# makes it); TABLE= none.
# e.g. SPLIT=2 bash experiments/prompt_control/run_grid.sh pretrained:crafter 50 runs/prompt_control
#      TASKS="push_left push_right push_forward push_back" POLICIES=prompt,short_prompt \
#        bash experiments/prompt_control/run_grid.sh PUSH_MODEL 13 runs/push env=push_control
set -euo pipefail
CKPT=${1:?world model checkpoint}; EPISODES=${2:-50}; OUT=${3:-runs/prompt_control}; shift $(( $# < 3 ? $# : 3 ))
POLICIES=${POLICIES:-random,scripted,prompt,no_prompt,short_prompt,consensus,likelihood,likelihood_no_prompt}
SEEDS=${SEEDS:-0:$EPISODES}; SPLIT=${SPLIT:-1}
TASKS=(${TASKS:-collect_wood place_table collect_drink eat_cow})
TABLE=${TABLE-experiments/prompt_control/short_prompts.npz}
FIRST=${SEEDS%:*}; LAST=${SEEDS#*:}; CHUNK=$(( (LAST - FIRST + SPLIT - 1) / SPLIT ))
mkdir -p "$OUT"; pids=(); failed=0
for t in "${TASKS[@]}"; do
  for ((a = FIRST; a < LAST; a += CHUNK)); do
    b=$(( a + CHUNK < LAST ? a + CHUNK : LAST ))
    OMP_NUM_THREADS=2 python3 -m worldsim.cli control ckpt="$CKPT" tasks=[$t] \
      policies=[$POLICIES] seed=$(( 200000 + a )) episodes=$(( b - a )) control.videos=2 \
      ${TABLE:+text_table=$TABLE} \
      out="$OUT/${t}_${a}_${b}" "$@" > "$OUT/${t}_${a}_${b}.log" 2>&1 &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
from worldsim.control.grid import merge_results, write_results
from worldsim.control.report import write_html
out = Path(sys.argv[1])
parts = {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/results.json"))}
merged = merge_results(parts)
write_results(out, merged)
write_html(out / "summary.html", merged)
print(out / "results.json")
PY
exit $failed
