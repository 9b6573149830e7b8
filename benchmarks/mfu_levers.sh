#!/usr/bin/env bash
# Issue 18's MFU levers on one H200: each run is today's best step (`--compile model --fused-adamw`)
# with one lever on top, profiled, at the dit_b and dit_l shapes of benchmarks/README.md.
#
#   RESULTS=$OUT bash benchmarks/mfu_levers.sh            # the default runs, about 8 minutes
#   bash benchmarks/mfu_levers.sh b:best l:hd128:200      # chosen runs (model:lever[:timeout_s])
#   bash benchmarks/mfu_levers.sh b:pinned+cdt            # levers together: dit_b_h200_pinned_cdt
#   SMOKE=1 RESULTS=/tmp/levers bash benchmarks/mfu_levers.sh b:best b:pinned   # CPU, eager, tiny
#
# Writes RESULTS/dit_{b,l}_h200_<lever>.json (RESULTS defaults to benchmarks/results) and a log
# per run beside it. Runs go in order of expected value; each runs under `timeout`, and a run that
# fails or times out is reported and the next one starts. A run is skipped when less than half its
# timeout is left of BUDGET (the whole script's seconds), and its timeout is cut to what is left.
# Time on a machine doing nothing else: beside ten Crafter recording workers (session 32) the
# dit_b control ran 3% slower than on the quiet machine of session 31 (benchmarks/README).
set -u

RESULTS=${RESULTS:-benchmarks/results}
BUDGET=${BUDGET:-470}
mkdir -p "$RESULTS"

declare -A SHAPE=(
  [b]="--model dit_b --batch 128 --frames 8 --latent 16 16"
  [l]="--model dit_l --batch 16 --frames 8 --latent 32 32 --no-checkpointing"
)
BEST="--compile model --fused-adamw --profile --no-sampling"
if [[ -n ${SMOKE:-} ]]; then
  SHAPE=([b]="--smoke" [l]="--smoke")
  BEST="--fused-adamw --profile --no-sampling"
fi

# lever -> bench_dit flags; hd128 is the one that changes the model (head width 128, same FLOPs)
declare -A LEVER=(
  [best]=""
  [pinned]="--pinned-levels"
  [cdt]="--inductor coordinate_descent_tuning=True"
  [cudagraphs]="--compile-mode reduce-overhead"
  [autotune]="--inductor max_autotune_gemm=True --inductor max_autotune_gemm_backends=TRITON,ATEN \
    --inductor triton.enable_persistent_tma_matmul=True"
  [aggressive]="--inductor aggressive_fusion=True"
  [rope]="--rope swap"
  [fused]="--fused-kernels"
  [flash]="--sdpa flash"
  [cudnn]="--sdpa cudnn"
  [b_hd128]="--heads 6"
  [l_hd128]="--heads 8"
)

# model:lever:timeout_s, in order of expected gain per second of device time
DEFAULT=(
  b:best:180 b:pinned:90 l:hd128:240 b:cdt:120 b:cudagraphs:90 b:autotune:240 b:rope:90
  b:hd128:90 b:aggressive:90 l:pinned:150 l:cdt:180 l:flash:150
)
RUNS=("$@")
((${#RUNS[@]})) || RUNS=("${DEFAULT[@]}")

SUMMARY=()
for run in "${RUNS[@]}"; do
  IFS=: read -r model lever limit <<<"$run"
  limit=${limit:-150}
  name=dit_${model}_h200_${lever//+/_}
  flags=""
  for one in ${lever//+/ }; do
    flags+=" ${LEVER[${model}_${one}]-${LEVER[$one]-unknown}}"
  done
  if [[ $flags == *unknown* || -z ${SHAPE[$model]-} ]]; then
    SUMMARY+=("$name: unknown run '$run' (model b|l, lever one of: ${!LEVER[*]})")
    continue
  fi
  left=$((BUDGET - SECONDS))
  if ((2 * left < limit)); then
    SUMMARY+=("$name: skipped, ${left}s of the ${BUDGET}s budget left")
    continue
  fi
  ((limit > left)) && limit=$left
  start=$SECONDS
  rm -f "$RESULTS/$name.json"  # a failed run must not show an older run's figures
  echo "== $(date -u +%T) $name (timeout ${limit}s): ${SHAPE[$model]} $BEST $flags"
  # shellcheck disable=SC2086  # the flag strings are meant to split into words
  timeout -k 10 "$limit" python -m benchmarks.bench_dit ${SHAPE[$model]} $BEST $flags \
    --name "$name" --results "$RESULTS" >"$RESULTS/$name.log" 2>&1
  rc=$?
  figures=$(python - "$RESULTS/$name.json" <<'EOF' 2>/dev/null
import json, sys
t = json.load(open(sys.argv[1]))["figures"]["training"]
mfu = f"{100 * t['mfu']:.1f}%" if t["mfu"] else "n/a"
model = f"{100 * t['mfu_model_flops']:.1f}%" if t["mfu"] else "n/a"
print(f"MFU {mfu} (model FLOPs {model}), step {1e3 * t['step_s']:.1f} ms,", end=" ")
print(f"first step {t['first_step_s']:.0f} s")
EOF
  )
  SUMMARY+=("$name: rc $rc, $((SECONDS - start))s, ${figures:-no result} ($RESULTS/$name.log)")
  echo "${SUMMARY[-1]}"
  ((rc != 0)) && tail -5 "$RESULTS/$name.log"
done

echo "== summary ($SECONDS s)"
printf '%s\n' "${SUMMARY[@]}"
