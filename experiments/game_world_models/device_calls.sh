#!/usr/bin/env bash
# Both game models' GPU run in three device calls on one warm machine (RESULTS.md section 14).
# The two run.sh pipelines run detached (setsid), so training goes on between calls; the calls
# watch them. The machine stays warm only 30 s after a call: send the next call at once.
#
#   call 1: bash experiments/game_world_models/device_calls.sh start       (carry .whl)
#   call 2: bash /tmp/g/repo/experiments/game_world_models/device_calls.sh snapshot
#   call 3: bash /tmp/g/repo/experiments/game_world_models/device_calls.sh finish
#
# start     installs .whl/*.whl (the simulators and small packages the GPU image lacks), copies the
#           tree to /tmp/g/repo (each call re-sends the tree: the detached runs must not see it
#           change), starts the Crafter and ViZDoom pipelines (record, encode, train until
#           DEADLINE = now + TRAIN_SECONDS, export) and watches them for CALL_SECONDS.
# snapshot  records the held-out sets, watches, then exports both runs' last.ckpt to $OUT: the
#           trained weights come back even if the machine is lost before `finish`.
# finish    waits for both exports, runs the GPU evaluations of sections 11 and 14 (teacher-forced
#           Crafter bars for the new and the shipped file, text at guidance 1, 2, 4, ViZDoom
#           teacher-forced and against horizon) and puts the models and results in $OUT.
# CRAFTER_RUN / DOOM_RUN: each pipeline's run.sh environment (defaults: section 14's run).
set -u
G=/tmp/g
CRAFTER_RUN=${CRAFTER_RUN:-"STORES='crafter crafter_eat_plant' CRAFTER_EPISODES=1440 CRAFTER_SEED=2880 \
WORKERS=7 PLANT_EPISODES=96 PLANT_WORKERS=2 ENCODE_SHARDS=4 VAE=pretrained:crafter \
INIT=pretrained:crafter NAME=crafter_new.pt TRAIN_MINUTES=60 DIT_EXTRA='flow.drop_actions=0.5'"}
DOOM_RUN=${DOOM_RUN:-"STORES='doom_my_way_home doom_deathmatch' DOOM_EPISODES=480 DOOM_WORKERS=4 \
ENCODE_SHARDS=2 VAE=pretrained:crafter NAME=doom_new.pt TRAIN_MINUTES=60 \
DIT_EXTRA='text.name=none flow.context_noise=0.4'"}
export PYTHONPATH=/tmp/site:$G/repo PYTHONUNBUFFERED=1
ws() { python3 -m worldsim.cli "$@"; }

watch() {  # both pipelines' last lines every 45 s until unix time $1 or until both are done
  while [ "$(date +%s)" -lt "$1" ]; do
    sleep 45
    echo "--- $(date -u +%T) GPU $(nvidia-smi --query-gpu=utilization.gpu,memory.used \
      --format=csv,noheader)"
    grep -q "== done" $G/crafter.log && grep -q "== done" $G/doom.log && break
  done
  for game in crafter doom; do
    echo "=== $game"
    grep -E "^== |record:|encode:|interrupted|exit code|export|Error" $G/$game.log | tail -n 25
  done
}

start() {
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  local deadline=$(($(date +%s) + ${TRAIN_SECONDS:-1320}))
  mkdir -p $G/repo && cp -a $(ls -A | grep -v -e '^.whl$' -e '^.git$') $G/repo/
  echo "$deadline" >$G/deadline
  cd $G/repo && nproc && nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
  setsid -f bash -c "$CRAFTER_RUN DEADLINE=$deadline bash experiments/game_world_models/run.sh \
    /tmp/gc record encode train export >$G/crafter.log 2>&1 </dev/null"
  setsid -f bash -c "$DOOM_RUN DEADLINE=$deadline bash experiments/game_world_models/run.sh \
    /tmp/gd record encode train export >$G/doom.log 2>&1 </dev/null"
  watch $(($(date +%s) + ${CALL_SECONDS:-560}))
}

snapshot() {
  (ws record env=crafter_mix policy=mixed episodes=32 steps=257 seed=100000 out=$G/held/crafter \
    workers=3 progress=false
  ws record env=doom_my_way_home policy=mixed episodes=32 steps=257 seed=100000 \
    out=$G/held/doom_my_way_home workers=3 progress=false) >$G/held.log 2>&1 &
  watch $(($(date +%s) + ${CALL_SECONDS:-470}))
  cat $G/held.log
  ws export ckpt=/tmp/gc/dit/checkpoints/last.ckpt out="$OUT/crafter_snap.pt" max_part_mb=15
  ws export ckpt=/tmp/gd/dit/checkpoints/last.ckpt out="$OUT/doom_snap.pt" max_part_mb=15
}

finish() {
  watch $(($(cat $G/deadline) + 150))
  local e=$G/eval h=$G/held
  mkdir -p $e
  cd $G/repo/experiments/game_world_models
  timeout 100 python3 teacher_forced.py $h/crafter 256 /tmp/gc/crafter_new.pt cuda >$e/tf_new.json
  timeout 60 python3 teacher_forced.py $h/crafter 256 pretrained:crafter cuda >$e/tf_shipped.json
  timeout 100 python3 text_follow.py $h/crafter 32 cuda /tmp/gc/crafter_new.pt 1 2 4 \
    >$e/text_new.json
  timeout 120 python3 ../evals/doom_horizon.py $h/doom_my_way_home $e/doom 256 32 16 \
    /tmp/gd/doom_new.pt cuda
  cd $G && cp ./*.log $e/ && cp -r /tmp/gc/dit/logs $e/crafter_tb && cp -r /tmp/gd/dit/logs $e/doom_tb
  tar czf "$OUT/eval_logs.tgz" eval
  cp /tmp/gc/crafter_new.pt.part* /tmp/gd/doom_new.pt.part* "$OUT/"
  ls -la "$OUT"
}

case ${1:-} in
  start) start ;;
  snapshot | finish) [ -f $G/deadline ] || { echo "cold machine: call 1's state in $G is gone"; exit 3; }
    $1 ;;
  *) echo "usage: device_calls.sh start|snapshot|finish" >&2; exit 2 ;;
esac
