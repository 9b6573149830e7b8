#!/usr/bin/env bash
# Several world models' GPU run in three device calls on one warm machine (RESULTS.md section 14).
# The pipelines (GAMES: crafter, doom, push) run detached (setsid), so training goes on between
# calls; the calls watch them. The machine stays warm only 30 s after a call: send the next call
# at once, so write every call's command before the first is sent (session 24 lost its run
# composing call 3 after call 2 had returned).
#
#   call 1: bash experiments/game_world_models/device_calls.sh start       (carry WHEELS)
#   call 2: bash /tmp/g/repo/experiments/game_world_models/device_calls.sh snapshot
#   call 3: bash /tmp/g/repo/experiments/game_world_models/device_calls.sh finish
#
# The tree a call copies must stay under 64 MiB with its wheels: `KEEP="crafter" bash
# experiments/device_hold.sh hold` before the first call (the models a run needs in KEEP),
# `bash experiments/device_hold.sh restore` after the last.
#
# start     installs $WHEELS/*.whl (default .whl: the simulators and small packages the GPU image
#           lacks, made by experiments/device_wheels.sh), copies the tree to /tmp/g/repo (each call
#           re-sends the tree: the detached runs must not see it change), starts the pipelines
#           (record, encode, train until DEADLINE = now + TRAIN_SECONDS, export) and watches them
#           for CALL_SECONDS, then returns what is finished in $OUT (each run's trained vae.ckpt,
#           exported model and CANDIDATE_STEPS checkpoints, and the training scalars in
#           dit_logs.tgz), and the DiTs still training as snapshots (${game}_snap.pt, last.ckpt
#           exported: leave ~30 s of the call's limit for it). MODELS=0: no model files come
#           back (no VAE, export, candidate or snapshot: two arms' are 48 MB or more), only the
#           scalars; the files coming back take seconds of the 30 s the machine stays warm, and
#           sessions 47 and 48 lost it so. The last call returns them (`snapshot` with
#           JUDGE_SECONDS); a machine lost before then loses the runs.
#           The held-out sets are recorded meanwhile, and the call waits for them.
# snapshot  records the held-out sets (when `start` has not), watches until CALL_SECONDS (default
#           470) or the runs' end, then returns what `start` returns: the trained weights come
#           back even if the machine is lost before `finish`. A run longer than one call is
#           `start` then `snapshot` (RESULTS section 54). JUDGE_SECONDS=N: when the runs have
#           ended, `judge` their Crafter exports in the same call, LONG_SECONDS=N (a later call
#           may find the machine gone: the returned files take seconds of its 30 s idle); size
#           CALL_SECONDS + N + about 60 s of recording and packing under the call's limit
# finish    waits for the exports, runs the GPU evaluations of sections 11 and 14 (teacher-forced
#           Crafter bars for the new and the $BASE file, text at guidance 1, 2, 4 and the
#           validation screen for each new file and CANDIDATE_STEPS checkpoint, the SWEEP of
#           sampling settings on each new Crafter file (section 18), ViZDoom
#           teacher-forced and against horizon; for push, the control grid and text following of
#           prompt_control RESULTS) and puts the models and results in $OUT.
# more      the device time left after `finish`: crafter's and doom's runs train on from their
#           last.ckpt until now + TRAIN_SECONDS (same CRAFTER_RUN / DOOM_RUN as `start`), are
#           exported again and come back in $OUT (scored on the CPU, or by a later call).
# push_eval CKPT=FILE: push's evaluations of `finish` alone, on any machine (a cold one too: it
#           installs $WHEELS), for a model file that came back from an earlier call.
# screen    CKPT=FILE GAME=crafter|doom: that file's 1,000-frame rollouts on GAME's validation
#           long set (recorded here once, from seed 300000; RESULTS sections 24-26) at each of
#           LEVELS (sampling settings, each evaluate.py's SAMPLING: a context level or dotted
#           overrides such as guidance.action_scale=2,context_level=0.2; default "0.2 0"), noise
#           seeds 0, 1 and 2, in parallel on the
#           GPU, on any machine (a cold one too); VAL_TRUTHS true episodes each (default 4: 6
#           draws did not rank close candidates, section 30; session 38's finish screened only 6
#           under the old default of 2, section 44). At most 4 Crafter
#           candidates finish in 360 s (section 30: 8 judged 3-4 of 6 draws each). The H200 gives
#           the CPU's verdicts for the shipped sampling (sections 26, 30), not draw for draw for
#           every one (section 30).
# judge     CKPT="FILE [FILE ...]": each Crafter file's gate (teacher-forced bars and text
#           following on the frozen held set, recorded here) beside its validation screen at
#           LEVELS (default "0"), all in parallel, on any machine (a cold one too, or the warm
#           one of `start`, whose files lie in /tmp/gc); LONG_SECONDS caps each (default 360:
#           session 42 judged one file's gate and all 12 draws in 305 s, RESULTS section 49).
#           FROZEN_LONG=1: the frozen long truths' 6 draws too (recorded here; section 71).
#           Ends with verdict.py's tables and verdicts (it reads a returned eval folder too).
# wake      CKPT="FILE [FILE ...]": wake_probe.py on each Crafter file (RESULTS sections 74, 76:
#           does it wake its sleeper when the truth does, and by the actions' ages?), on any
#           machine (a cold one too, or the warm one of `start`: /tmp/gc/crafter_new.pt); the
#           store is recorded here (WAKE_EPISODES, default 288), the files probed at once
# crafter_eval CKPT=FILE: issue 16's Crafter grid (prompt_control RESULTS section 9) on any machine;
#           the call's tree needs experiments/prompt_control/short_prompts.npz (run_grid.sh's
#           TABLE; section 24's grid failed without it) or TABLE= for no short prompts.
# CRAFTER_RUN / DOOM_RUN / PUSH_RUN: each pipeline's environment (crafter: section 22's run, doom:
# section 21's; push: the Push model of prompt control, experiments/prompt_control/RESULTS.md).
# Push needs the EGL loaders (.gl, /work/.library/device/README.md) unpacked and MUJOCO_GL=egl.
# GAMES="crafter crafter_causal" (or "doom doom_causal"): beside the game's run, the same run with
# frame-causal attention (issue 18: the KV cache needs it) on its latents, from the same INIT,
# with CRAFTER_DIT's (DOOM_DIT's) training (it used to drop the context estimate, so the two arms
# differed in more than the attention; a CRAFTER_RUN or DOOM_RUN given with its own DIT_EXTRA
# should set CRAFTER_DIT or DOOM_DIT to match, and the two arms share the GPU, so size
# train.max_steps for half the steps); `finish` measures both teacher-forced on the same held-out
# windows, Crafter's text too, and ViZDoom's through the choice below (section 33: on Crafter the
# causal arm held 5 of 6 frozen truth-draws, the full one 2).
# GAMES="crafter crafter_decoder" (or "doom doom_decoder"): beside it, the VAE's decoder trained
# alone on that game's episodes (run.sh's decoder stage, until DEADLINE); `finish` bundles it with
# the new DiT (decoder_new.pt) and scores both files: Crafter teacher-forced and by vae_ceiling.py
# (section 18), ViZDoom by doom_horizon.py. With doom, `finish` also runs the choice of section
# 26's protocol for each new ViZDoom file at each of LEVELS (context levels, default "0.2 0"), all
# in parallel under LONG_SECONDS (default 300; 0: none, for the CPU to judge): the gate
# (teacher-forced on both scenarios' held sets) and the validation screen (evaluate.py on the
# validation doom_long, noise seeds 0, 1 and 2). The H200 gives the CPU's verdicts (section 26);
# the frozen truths are judged on the CPU, for a chosen file only.
# GAMES="crafter crafter_alt": beside crafter's run, the same run (its CRAFTER_RUN, its latents,
# its INIT and seed) with ALT_DIT's overrides after its DIT_EXTRA (words without quotes, e.g.
# ALT_DIT="flow.dmd_flow_weight=0.1"), exported as /tmp/gca/alt_new.pt: two recipes on one GPU
# in about one run's time (one DMD run kept the H200 busy 36-60% of the time, game RESULTS
# section 56). Its CANDIDATE_STEPS are not exported; `judge` scores both exports.
set -u
G=/tmp/g
GAMES=(${GAMES:-crafter doom})
# crafter: pretrained:crafter continued as in section 22 (its own context estimates), on seeds it
# has not seen (the runs up to section 29's drew Crafter seeds below 12,824), its learning rate
# falling to 0 over the second half of 10,500 steps (CRAFTER_DIT; section 29: 13,000 planned steps
# were cut at 11,355 by a 1,300 s DEADLINE after 7.4 min of data, the rate still at 25%)
CRAFTER_DIT=${CRAFTER_DIT:-"flow.drop_actions=0.5 flow.context_estimate=0.5 train.max_steps=10500 \
optim.decay_steps=5250"}
CRAFTER_RUN=${CRAFTER_RUN:-"STORES='crafter crafter_eat_plant' CRAFTER_EPISODES=1440 \
CRAFTER_SEED=12824 WORKERS=7 PLANT_EPISODES=96 PLANT_WORKERS=2 ENCODE_SHARDS=4 \
VAE=pretrained:crafter INIT=pretrained:crafter NAME=crafter_new.pt TRAIN_MINUTES=60 \
DIT_EXTRA='$CRAFTER_DIT'"}
# doom: pretrained:doom continued with its own VAE and its training of sections 21 and 24 (the
# model's own context estimates), on seeds it has not seen (its runs and section 23's drew seeds
# below 5,120; section 35's 5,120-5,759, section 38's 5,760-6,399, section 40's 6,400-6,719),
# its learning rate falling to 0 over the second half of 22,000 steps (section 27: every earlier
# run kept it constant; at section 24's 25.5 steps/s the run ends before a TRAIN_SECONDS=1300
# DEADLINE)
DOOM_DIT=${DOOM_DIT:-"text.name=none flow.context_noise=0.4 flow.context_estimate=0.5 \
train.max_steps=22000 optim.decay_steps=11000"}
DOOM_RUN=${DOOM_RUN:-"STORES='doom_my_way_home doom_deathmatch' DOOM_EPISODES=640 DOOM_SEED=6720 \
DOOM_WORKERS=7 ENCODE_SHARDS=2 VAE=pretrained:doom INIT=pretrained:doom NAME=doom_new.pt \
TRAIN_MINUTES=60 DIT_EXTRA='$DOOM_DIT'"}
PUSH_RUN=${PUSH_RUN:-"SCENES=push_control EPISODES_EACH=1200 STEPS=129 WORKERS=6 \
CFG=configs/experiment/push_control VAE_CFG=configs/experiment/mujoco/vae.yaml NAME=push_new.pt \
TEXT_TABLE=worldsim/assets/text/push_control_minilm.npz TRAIN_MINUTES=60"}
# PUSH_STAGES: run_mujoco.sh's stages. A Push run whose calls each return what they made
# (prompt_control RESULTS section 6) runs "record vae" in its first call, which then ends as soon
# as the VAE is trained and returns it; later calls give it back as VAE= and train
PUSH_STAGES=${PUSH_STAGES:-record vae encode train export}
# RETURN: the arms whose model files `finish` puts in $OUT (default all GAMES). A call returns at
# most 8 files and 64 MiB: three ~20 MB models (2 parts each) and the eval archive do not fit, so
# with three arms name the one or two to keep (their scores come back for all in eval_logs.tgz)
BASE=${BASE-pretrained:crafter}  # the file crafter's run continues: finish scores it beside the
# new one (a path when the tree travels without crafter.pt, e.g. INIT's; BASE= skips it, when its
# scores on the frozen set are on record)
VARIANTS=(${SWEEP:-})  # sampling overrides (sampling_sweep.py, section 18), each a word: with
# SWEEP_CKPT, `start` sweeps them on that file; `finish` on each new Crafter file
export PYTHONPATH=/tmp/site:$G/repo PYTHONUNBUFFERED=1 MUJOCO_GL=egl
# torch.compile's caches (Inductor's graphs, Triton's kernels, autotuning): a DMD run compiles
# three DiTs at several shapes before its first step (game RESULTS section 53: 90 to 220 s of a
# 560 s call, `perf/first_step_s` says how much). INDUCTOR=FILE.tgz (a path in the tree, e.g.
# .inductor/crafter_dmd.tgz, carried: git ignores .inductor/): `start` unpacks it (or its parts
# FILE.tgz.part0, .part1, ...) before the pipelines when it exists, else `start` and `snapshot`
# return the caches this machine compiled as $OUT/FILE's name, in 15 MiB parts when larger, for
# the next session to carry (the same device image: the same torch, Triton and GPU, which the
# caches' keys check)
export TORCHINDUCTOR_CACHE_DIR=$G/inductor
ws() { python3 -m worldsim.cli "$@"; }

work_of() {  # game -> its pipeline's work folder
  case $1 in
    crafter) echo /tmp/gc ;;
    doom) echo /tmp/gd ;;
    push) echo /tmp/gp ;;
    crafter_causal) echo /tmp/gcc ;;
    doom_causal) echo /tmp/gdc ;;
    crafter_decoder) echo /tmp/gcd ;;
    doom_decoder) echo /tmp/gdd ;;
    crafter_alt) echo /tmp/gca ;;
    *) echo "unknown game $1 (crafter | doom | push | {crafter,doom}_{causal,decoder} |" \
      "crafter_alt)" >&2
      exit 2 ;;
  esac
}

pipeline() {  # game [stages] -> its command (crafter and doom: all stages by default)
  local w stages=${2:-record encode train export}
  w=$(work_of "$1")
  case $1 in
    crafter) echo "$CRAFTER_RUN bash experiments/game_world_models/run.sh $w $stages" ;;
    doom) echo "$DOOM_RUN bash experiments/game_world_models/run.sh $w $stages" ;;
    push) echo "$PUSH_RUN bash experiments/world_model/run_mujoco.sh $w ${2:-$PUSH_STAGES}" ;;
    crafter_causal | doom_causal)  # waits for its game's latents (train starts after encode)
      local game=${1%_causal} run=$CRAFTER_RUN dit=$CRAFTER_DIT
      [ "$game" = doom ] && run=$DOOM_RUN dit=$DOOM_DIT
      echo "until grep -q '^== train' $G/$game.log; do sleep 15; done; mkdir -p $w; \
for c in $(work_of "$game")/latents_*; do ln -sfn \$c $w/; done; $run NAME=causal_new.pt \
DIT_EXTRA='$dit model.attention=causal' \
bash experiments/game_world_models/run.sh $w train export" ;;
    crafter_alt)  # crafter's run with ALT_DIT after its DIT_EXTRA (later overrides win), on
      # its latents: waits for them as the causal arm does
      echo "until grep -q '^== train' $G/crafter.log; do sleep 15; done; mkdir -p $w; \
for c in $(work_of crafter)/latents_*; do ln -sfn \$c $w/; done; $CRAFTER_RUN NAME=alt_new.pt \
bash -c 'DIT_EXTRA=\"\$DIT_EXTRA $ALT_DIT\" exec bash experiments/game_world_models/run.sh $w train \
export'" ;;
    crafter_decoder | doom_decoder)  # waits for its game's episodes (encode starts after record)
      local game=${1%_decoder} run=$CRAFTER_RUN
      [ "$game" = doom ] && run=$DOOM_RUN
      echo "until grep -q '^== encode' $G/$game.log; do sleep 15; done; mkdir -p $w; \
for c in $(work_of "$game")/$game*; do ln -sfn \$c $w/; done; $run \
bash experiments/game_world_models/run.sh $w decoder" ;;
  esac
}

arm_done() {  # game -> whether its pipeline has ended (its log's last stage line)
  grep -qs "== done" $G/$1.log  # -s: a log not yet written is a run not done
}

all_done() {
  local game
  for game in "${GAMES[@]}"; do arm_done "$game" || return 1; done
}

watch() {  # every pipeline's last lines every 45 s until unix time $1 or until all are done
  local left
  while ! all_done && left=$(($1 - $(date +%s))) && [ $left -gt 0 ]; do
    sleep $((left < 45 ? left : 45))  # never past $1: a call's output is lost if it overruns
    echo "--- $(date -u +%T) GPU $(nvidia-smi --query-gpu=utilization.gpu,memory.used \
      --format=csv,noheader)"
  done
  for game in "${GAMES[@]}"; do
    echo "=== $game"
    milestones $G/$game.log | tail -n 25
  done
}

milestones() {  # a pipeline log -> its stage, record/encode/train-vae summary and error lines
  # progress bars end in \r: split them into lines and drop them, or they flood the call's output
  tr '\r' '\n' <"$1" | grep -v -E "[0-9.]+ ?(it|ep|step)/s|s/(it|ep|step)\]" |
    grep -E "^== |record:|encode:|train-vae: [0-9]|interrupted|exit code|export|Error"
}

install() {  # $WHEELS (default .whl) into /tmp/site
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "${WHEELS:-.whl}"/*.whl || exit 1
}

start() {
  local wheels=${WHEELS:-.whl} game
  install
  local deadline=$(($(date +%s) + ${TRAIN_SECONDS:-1320}))
  mkdir -p $G/repo && cp -a $(ls -A | grep -v -e "^$wheels$" -e '^.git$') $G/repo/
  if [ -n "${INDUCTOR:-}" ] && carried "$INDUCTOR"; then  # one file, or its parts in order
    local parts=$(compgen -G "$INDUCTOR.part*" | sort -V)  # compgen lists in no order
    mkdir -p $G/inductor && cat ${parts:-$INDUCTOR} | tar xz -C $G/inductor &&
      echo "compile caches: $INDUCTOR"
  fi
  echo "$deadline" >$G/deadline
  cd $G/repo && nproc && nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
  for game in "${GAMES[@]}"; do
    # export, not a DEADLINE= prefix: crafter_causal's pipeline starts with `until` (a prefix
    # there is a syntax error, and that arm never ran in the 16th session)
    # the detached shell's own output goes nowhere too: holding the call's stdout open, it kept
    # session 33's `start ... | tail` waiting for the run's end, past the call's limit
    setsid -f bash -c "export DEADLINE=$deadline; { $(pipeline "$game"); } >$G/$game.log 2>&1 \
      </dev/null" >/dev/null 2>&1 </dev/null
  done
  # the held-out sets are recorded while the pipelines run, not in `finish`'s device time (about
  # 100 s for Crafter's), and the call waits for them: a store cut off half-recorded would be
  # taken as recorded; SWEEP_CKPT: then the sampling sweep of that file on them
  (held_sets >>$G/held.log 2>&1 && [ -n "${SWEEP_CKPT:-}" ] &&
    sweep "$SWEEP_CKPT" init >$G/sweep.log 2>&1) &
  local held=$!
  watch $(($(date +%s) + ${CALL_SECONDS:-560}))
  wait $held
  return_finished
  if [ -n "${SWEEP_CKPT:-}" ]; then
    grep -E "^(checkpoint|[a-z_.]+=)|Error" $G/sweep.log
    cp $G/eval/sweep_init_* "$OUT/"
  fi
  out_fits
}

return_finished() {  # what each arm has finished comes back now, as a later call may find a
  # fresh machine (the Push run was lost so three times, prompt_control RESULTS section 6): the
  # VAE it trained (train-vae's logs in $w/vae: a VAE= file was not made here), its export, its
  # CANDIDATE_STEPS checkpoints written so far (session 39 lost one with the machine) and its
  # training scalars (the DiTs' TensorBoard logs, a few kB, in one dit_logs.tgz); and the DiTs
  # still training, as they stand: session 34 lost its run twice when the machine was gone
  # before the next call; a snapshot is a model file that a fresh machine's run continues from
  # (INIT=) or the CPU judges
  local game w logs=() models=${MODELS:-1}
  for game in "${GAMES[@]}"; do
    w=$(work_of "$game")
    [ -d $w/dit/logs ] && logs+=("${w#/}/dit/logs")
    [ "$models" = 0 ] && continue
    [ -d $w/vae ] && [ -f $w/vae.ckpt ] && cp $w/vae.ckpt "$OUT/${game}_vae.ckpt"
    [ -f $w/decoder.ckpt ] && cp $w/decoder.ckpt "$OUT/${game}.ckpt"  # a decoder arm's, ~7 MB
    to_out $w/*_new.pt*
    case $game in crafter | doom) [ -n "${CANDIDATE_STEPS:-}" ] && candidates "$game" >/dev/null &&
      to_out $w/*_step*.pt* ;; esac
  done
  [ ${#logs[@]} -gt 0 ] && tar czf "$OUT/dit_logs.tgz" -C / "${logs[@]}"
  all_done || [ "$models" = 0 ] || return_snapshots
  return_compile_caches
}

carried() {  # FILE -> whether the call's tree holds FILE or its parts FILE.part0, .part1, ...
  [ -f "$1" ] || compgen -G "$1.part*" >/dev/null
}

return_compile_caches() {  # INDUCTOR not carried in: this machine's compile caches -> $OUT, in
  # parts of 15 MiB (a returned file may take 16 MiB; session 44's DMD run packed 18 MB of 112)
  [ -n "${INDUCTOR:-}" ] && ! (cd $G/repo && carried "$INDUCTOR") && [ -d $G/inductor ] ||
    return 0
  local out=$OUT/$(basename "$INDUCTOR")
  tar czf "$out" -C $G/inductor .
  if [ "$(stat -c %s "$out")" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15M -d -a 1 "$out" "$out.part" && rm "$out"
  fi
}

has() { [[ " ${GAMES[*]} " == *" $1 "* ]]; }

push_starts() {  # push_text_follow.py's held-out starts (prompt_control RESULTS section 7)
  ws record env=push_control policy=random episodes=32 steps=9 seed=300000 out=$G/held/push \
    progress=false
}

push_eval() {  # model file -> $G/eval: the Push control grid (13 held-out seeds a task, 100 env
  # steps, each cell's episodes in lockstep; prompt_control RESULTS section 8), its grids in
  # parallel under GRID_SECONDS and text following beside them (150 s). The grids: prompt, no
  # prompt, short prompt (its sentences from run_grid.sh's default TABLE), random and scripted;
  # the likelihood planner apart (a grid's cells run one after another, and it is the slowest);
  # beside it the same planner with the empty prompt (prompt_control RESULTS section 20: is it
  # the prompt or the two-leg candidates that beat random? horizon 4 was measured there, worse);
  # prompt at full speed. GIF videos: the GPU image has no ffmpeg.
  local ckpt=$1 e=$G/eval
  mkdir -p $e
  [ -d $G/held/push ] || push_starts
  local grid=(env TASKS="push_left push_right push_forward push_back" timeout
    "${GRID_SECONDS:-330}" bash experiments/prompt_control/run_grid.sh "$ckpt" 13)
  local knobs=(env=push_control control.max_steps=100 control.batch=13 control.videos=1
    control.video=gif)
  POLICIES=prompt,no_prompt,short_prompt,random,scripted "${grid[@]}" $e/push_grid \
    "${knobs[@]}" &
  POLICIES=likelihood "${grid[@]}" $e/push_grid_likelihood "${knobs[@]}" &
  POLICIES=likelihood_no_prompt "${grid[@]}" $e/push_grid_likelihood_no_prompt "${knobs[@]}" &
  POLICIES=prompt "${grid[@]}" $e/push_grid_full_speed "${knobs[@]}" control.full_speed=true &
  timeout 150 python3 experiments/prompt_control/push_text_follow.py $G/held/push "$ckpt" 1 4 \
    >$e/push_text.json
  wait
}

held_sets() {  # the games' held-out stores, each recorded once: Crafter's frozen set (RESULTS
  # section 15) and crafter_val (seeds 200000..: sampling settings are chosen there, section 18)
  if has crafter; then
    [ -d $G/held/crafter ] || ws record env=crafter_mix policy=mixed episodes=32 steps=257 \
      seed=100000 out=$G/held/crafter workers=3 progress=false
    [ -d $G/held/crafter_val ] || ws record env=crafter_mix policy=mixed episodes=32 steps=257 \
      seed=200000 out=$G/held/crafter_val workers=3 progress=false
    validation_long crafter
    # FROZEN_LONG=1: the frozen long truths too (RESULTS section 15), for `judge` (section 71)
    [ -z "${FROZEN_LONG:-}" ] || [ -d $G/held/crafter_long ] || ws record env=crafter_mix \
      policy=scripted episodes=384 steps=1001 seed=100000 out=$G/held/crafter_long workers=14 \
      progress=false
  fi
  if has doom && ! [ -d $G/held/doom_my_way_home ]; then
    ws record env=doom_my_way_home policy=mixed episodes=32 steps=257 seed=100000 \
      out=$G/held/doom_my_way_home workers=3 progress=false
    ws record env=doom_deathmatch policy=mixed episodes=32 steps=257 seed=100000 \
      out=$G/held/doom_deathmatch workers=3 progress=false
    validation_long doom
  fi
  if has push && ! [ -d $G/held/push ]; then push_starts; fi
}

validation_long() {  # game -> its validation long set under $G/held/val_<game>, recorded once
  # (section 25's doom_long and its bank; section 24's crafter_long, its own bank), in $G/held.log
  local v=$G/held/val_$1
  [ -d $v ] && return
  if [ "$1" = doom ]; then  # truths and references, and the bank
    ws record env=doom_my_way_home policy=mixed episodes=12 steps=1001 seed=300000 \
      out=$v/doom_long workers=6 progress=false
    ws record env=doom_my_way_home policy=mixed episodes=8 steps=257 seed=300000 \
      out=$v/doom_my_way_home workers=6 progress=false
  else
    ws record env=crafter_mix policy=scripted episodes=384 steps=1001 seed=300000 \
      out=$v/crafter_long workers=14 progress=false
  fi
}

validation_rollouts() {  # file game level out cap -> evaluate.py's 1,000-frame rollouts of the
  # file on the game's validation long set at that sampling (evaluate.py's SAMPLING: a context
  # level or dotted overrides), noise seeds 0, 1 and 2, in
  # out/ (its log beside it), stopped after cap seconds; run from experiments/game_world_models
  local script=evaluate.py
  [ "$2" = crafter ] && script=keep_frames.py  # evaluate.py with every frame kept, for wakes
  timeout "$5" python3 $script $G/held/val_$2 "$4" cuda only "$1" "$2" "$3" 0,1,2 \
    "${VAL_TRUTHS:-4}" >"$4.log" 2>&1
  [ "$2" = crafter ] && crafter_wakes "$4"
}

crafter_wakes() {  # out -> keep_frames.py's timing of each draw's sleeps against its truth's (RESULTS
  # section 73), after the log of the rollouts that wrote out/long_strip.npz (kept on the machine)
  [ -f "$1/long_strip.npz" ] && python3 keep_frames.py --wakes "$1/long_strip.npz" >>"$1.log" 2>&1
}

screen() {  # model file -> $G/eval/screen_<game>_<level>: its validation long rollouts at LEVELS
  local game=${GAME:?screen needs GAME=crafter or GAME=doom} ckpt=$1 level pids=()
  case $game in crafter | doom) ;; *) echo "GAME=$game: crafter or doom" >&2 && exit 2 ;; esac
  case $ckpt in pretrained:* | /*) ;; *) ckpt=$PWD/$ckpt ;; esac  # the runs start in a subfolder
  mkdir -p $G/eval
  validation_long "$game" >>$G/held.log 2>&1
  eval_threads
  for level in ${LEVELS:-0.2 0}; do
    (cd experiments/game_world_models && validation_rollouts "$ckpt" "$game" "$level" \
      $G/eval/screen_${game}_$level "${LONG_SECONDS:-420}") & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  tail -n 3 $G/held.log
}

judge() {  # model files -> $G/eval/{tf,text}_<name>.json, val_<name>_<level>/: `judge` above
  local cap=${LONG_SECONDS:-360} f files=() pids=()
  for f in "$@"; do  # absolute paths: the evaluations run in a subfolder
    case $f in pretrained:* | /*) ;; *) f=$PWD/$f ;; esac
    files+=("$f")
  done
  GAMES=(crafter)  # held_sets: Crafter's frozen held set, crafter_val and the validation long set
  mkdir -p $G/eval
  held_sets >>$G/held.log 2>&1
  eval_threads
  cd experiments/game_world_models
  for f in "${files[@]}"; do
    crafter_evals "$f" "$(basename "${f#pretrained:}" .pt)" "$cap" "$cap"
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  python3 verdict.py $G/eval || true  # the tables and verdicts in the call's output
  cd - >/dev/null
}

wake() {  # model files -> $G/eval/wake_<name>.json: wake_probe.py (RESULTS sections 74, 76) on
  # its store, WAKE_EPISODES (default 288) scripted episodes from seed 400,000 at cap 1,001,
  # recorded here once; every file at once, noise seeds 0 and 1, WAKE_DEVICE (default cuda)
  local f pids=()
  mkdir -p $G/eval $G/held
  [ -d $G/held/wake ] || ws record env=crafter_mix policy=scripted episodes="${WAKE_EPISODES:-288}" \
    steps=1001 seed=400000 out=$G/held/wake workers="$(nproc)" >>$G/held.log 2>&1
  eval_threads
  for f in "$@"; do
    case $f in pretrained:* | /*) ;; *) f=$PWD/$f ;; esac
    (cd experiments/game_world_models && timeout "${WAKE_SECONDS:-400}" python3 wake_probe.py \
      $G/held/wake "$f" "${WAKE_DEVICE:-cuda}" 0,1 >$G/eval/wake_"$(basename "${f#pretrained:}" .pt)".json) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  tail -n 40 $G/eval/wake_*.json
}

sweep() {  # model file, tag -> $G/eval/sweep_TAG_{val,held}.json: sampling_sweep.py's VARIANTS
  # (section 18) on crafter_val and on the frozen set, 256 windows each
  local set store
  mkdir -p $G/eval
  for set in val held; do
    store=$G/held/crafter
    [ $set = val ] && store=$G/held/crafter_val
    (cd $G/repo/experiments/game_world_models && timeout "${SWEEP_SECONDS:-200}" python3 \
      sampling_sweep.py $store 256 "$1" cuda "${VARIANTS[@]}" >$G/eval/sweep_$2_$set.json)
  done
}

snapshot() {
  local game held
  held_sets >$G/held.log 2>&1 &
  held=$!
  watch $(($(date +%s) + ${CALL_SECONDS:-470}))
  wait $held  # a store still being recorded would be taken as recorded by `judge`
  cat $G/held.log
  return_finished
  if [ -n "${JUDGE_SECONDS:-}" ] && all_done; then  # judged in this call: session 47 lost its
    # judge call when the 24 MB `snapshot` returned kept the machine idle past its 30 s
    (LONG_SECONDS=$JUDGE_SECONDS judge $(crafter_exports) && cd $G && pack_eval)
  fi
  out_fits
}

crafter_exports() {  # the Crafter arms' finished exports (a file, or the name of its parts)
  local game f
  for game in "${GAMES[@]}"; do
    case $game in crafter | crafter_alt | crafter_causal)
      for f in $(work_of "$game")/*_new.pt $(work_of "$game")/*_new.pt.part0; do
        [ -f "$f" ] && echo "${f%.part0}"
      done ;;
    esac
  done
}

to_out() {  # the files among the arguments (unmatched globs stay literal) copied to $OUT
  local f
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$OUT/"; done
  return 0
}

return_snapshots() {  # each arm still training: its last.ckpt (written every train.ckpt_every
  # steps) exported to $OUT (an arm that is done has returned its export: a snapshot beside it
  # would take 24 MB more of the 64 MiB a call returns)
  local game last
  for game in "${GAMES[@]}"; do  # the arms that train a DiT (a decoder arm has none)
    arm_done "$game" && continue
    last=$(work_of "$game")/dit/checkpoints/last.ckpt
    [ -f "$last" ] && ws export ckpt="$last" out="$OUT/${game}_snap.pt" max_part_mb=15
  done
}

out_fits() {  # says so when $OUT holds more than a call returns (8 files, 64 MiB together): the
  # rest is dropped silently (the 17th session lost a result so); pack more into one archive
  local n mib
  n=$(find "$OUT" -type f | wc -l) mib=$(du -sm "$OUT" | cut -f1)
  [ "$n" -le 8 ] && [ "$mib" -le 64 ] ||
    echo "WARNING: \$OUT holds $n files, $mib MiB: a call returns at most 8 files, 64 MiB"
}

pack_eval() {  # $G/eval to $OUT: videos apart, in parts of 15 MiB (a file comes back if <= 16)
  # long_strip.npz (keep_frames.py: every frame of the long rollouts) stays on the machine
  tar czf "$OUT/eval_logs.tgz" --exclude='*.mp4' --exclude='*.gif' --exclude='*.npz' eval
  find eval -name '*.mp4' -o -name '*.gif' | tar czf - -T - | split -b 15M - "$OUT/eval_videos.tgz.part"
}

finish() {
  held_sets >>$G/held.log 2>&1 &  # none to record when `snapshot` ran (each set is recorded once)
  watch $(($(cat $G/deadline) + 150))
  wait
  local e=$G/eval h=$G/held game
  mkdir -p $e
  cd $G/repo/experiments/game_world_models
  if has crafter; then
    crafter_choice
    [ -n "$BASE" ] && timeout 60 python3 teacher_forced.py $h/crafter 256 "$BASE" cuda >$e/tf_base.json
  fi
  if has crafter_causal; then  # issue 18: the causal arm on the quality numbers of the full one
    timeout 100 python3 teacher_forced.py $h/crafter 256 /tmp/gcc/causal_new.pt cuda \
      >$e/tf_causal.json
    timeout 100 python3 text_follow.py $h/crafter 32 cuda /tmp/gcc/causal_new.pt 1 2 4 \
      >$e/text_causal.json
  fi
  if has crafter_decoder; then  # the new DiT with the new decoder, beside it with the old one
    ws export ckpt=/tmp/gc/crafter_new.pt autoencoder=/tmp/gcd/decoder.ckpt \
      out=/tmp/gcd/decoder_new.pt max_part_mb=15
    timeout 100 python3 teacher_forced.py $h/crafter 256 /tmp/gcd/decoder_new.pt cuda \
      >$e/tf_decoder.json
    for f in /tmp/gc/crafter_new.pt /tmp/gcd/decoder_new.pt; do
      timeout 60 python3 vae_ceiling.py $h/crafter 256 $f "" cuda >$e/ceiling_"$(basename $f .pt)".json
    done
  fi
  if [ ${#VARIANTS[@]} -gt 0 ]; then
    has crafter && sweep /tmp/gc/crafter_new.pt new
    has crafter_causal && sweep /tmp/gcc/causal_new.pt causal
  fi
  local horizon=""  # beside the rest: the teacher-forced bars and PSNR against horizon
  if has doom; then
    timeout 120 python3 ../evals/doom_horizon.py $h/doom_my_way_home $e/doom 256 32 16 \
      /tmp/gd/doom_new.pt cuda & horizon=$!
  fi
  if has doom_decoder; then
    ws export ckpt=/tmp/gd/doom_new.pt autoencoder=/tmp/gdd/decoder.ckpt \
      out=/tmp/gdd/decoder_new.pt max_part_mb=15
    timeout 120 python3 ../evals/doom_horizon.py $h/doom_my_way_home $e/doom_decoder 256 32 16 \
      /tmp/gdd/decoder_new.pt cuda
  fi
  has doom && [ "${LONG_SECONDS:-300}" -gt 0 ] && doom_choice  # LONG_SECONDS=0: on the CPU
  [ -n "$horizon" ] && wait "$horizon"
  cd $G/repo
  has push && push_eval /tmp/gp/push_new.pt
  cd $G && cp ./*.log $e/
  local f
  for f in "$e"/*.json; do  # `timeout` kills in silence: session 26's teacher-forced result was
    # an empty file, its 100 s spent sharing the GPU with a grid, and nothing said so
    [ -s "$f" ] || echo "WARNING: $f is empty: its evaluation failed or ran out of time"
  done
  local w run
  for game in "${GAMES[@]}"; do
    w=$(work_of "$game")
    for run in dit decoder; do [ -d $w/$run/logs ] && cp -r $w/$run/logs "$e/${game}_${run}_tb"; done
    [[ " ${RETURN:-${GAMES[*]}} " == *" $game "* ]] && cp $w/*_new.pt* "$OUT/" &&
      to_out $w/*_step*.pt*  # CANDIDATE_STEPS
  done
  pack_eval
  ls -la "$OUT"
  out_fits
}

more() {
  local deadline=$(($(date +%s) + ${TRAIN_SECONDS:?more needs TRAIN_SECONDS}))
  local arms=() game
  for game in "${GAMES[@]}"; do  # the arms that resume in run.sh
    case $game in crafter | doom) arms+=("$game") ;; esac
  done
  cd $G/repo
  for game in "${arms[@]}"; do
    bash -c "export DEADLINE=$deadline; $(pipeline "$game" "train export")" >$G/${game}_more.log \
      2>&1 &
  done
  wait
  for game in "${arms[@]}"; do
    echo "=== $game" && milestones $G/${game}_more.log
    cp "$(work_of "$game")"/*_new.pt* "$OUT/"
  done
  out_fits
}

candidates() {  # game -> tag:file of each file `finish` judges: the run's export ("new"), and
  # the exports of its checkpoints at CANDIDATE_STEPS ("step1000"), steps a protocol names before
  # the run (section 44: a run can pass its best file, and one-sample numbers pick no step fairly
  # after the fact)
  local w s ckpt
  w=$(work_of "$1")
  echo "new:$w/$1_new.pt"
  for s in ${CANDIDATE_STEPS:-}; do
    ckpt=$(compgen -G "$w/dit/checkpoints/*-step=$s.ckpt" | head -n 1)
    [ -z "$ckpt" ] && echo "WARNING: $1 has no checkpoint at step $s" >&2 && continue
    # a step's checkpoint never changes: `start` may have exported it already
    compgen -G "$w/$1_step$s.pt*" >/dev/null ||
      ws export ckpt="$ckpt" out="$w/$1_step$s.pt" max_part_mb=15 >&2 || continue
    echo "step$s:$w/$1_step$s.pt"
  done
}

eval_threads() {  # the CPU threads of each evaluation run in parallel (EVAL_THREADS, default 2):
  # with torch's default (all 16 cores each), session 41's 15 parallel evaluations judged 2
  # validation draws of 12 per candidate and no teacher-forced bars in 420 s (section 47)
  export OMP_NUM_THREADS=${EVAL_THREADS:-2} MKL_NUM_THREADS=${EVAL_THREADS:-2}
}

crafter_choice() {  # each new Crafter file (`candidates`): section 22's teacher-forced bars, text
  # following at guidance 1, 2, 4 and (LONG_SECONDS > 0, default 300) the validation screen at
  # each of LEVELS (default "0"), all in parallel -> $G/eval/{tf,text,val}_<tag>*
  local pair pids=() cap=${LONG_SECONDS:-300}
  local gate=$((cap > 100 ? cap : 100))  # the gate's scripts run even when the screen does not
  eval_threads
  for pair in $(candidates crafter); do
    crafter_evals "${pair#*:}" "${pair%%:*}" "$gate" "$cap"
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

crafter_evals() {  # file tag gate cap: started in the background, their pids added to the
  # caller's `pids` (run from experiments/game_world_models): the teacher-forced bars and text
  # following on the frozen held set, each under gate seconds, and (cap > 0) the validation
  # screen at each of LEVELS (default "0") under cap -> $G/eval/{tf,text,val}_<tag>*
  local level
  timeout "$3" python3 teacher_forced.py $G/held/crafter 256 "$1" cuda \
    >$G/eval/tf_$2.json & pids+=($!)
  timeout "$3" python3 text_follow.py $G/held/crafter 32 cuda "$1" 1 2 4 \
    >$G/eval/text_$2.json & pids+=($!)
  [ "$4" -gt 0 ] || return 0
  for level in ${LEVELS:-0}; do
    validation_rollouts "$1" crafter "$level" $G/eval/val_$2_$level "$4" & pids+=($!)
  done
  # FROZEN_LONG=1: the frozen truths' six draws beside them, at the file's own sampling (as
  # the CPU judges them); verdict.py counts them only for a file that passed validation
  [ -z "${FROZEN_LONG:-}" ] || { { timeout "$4" python3 keep_frames.py $G/held $G/eval/frozen_$2 \
    cuda only "$1" crafter '' 0,1,2 >$G/eval/frozen_$2.log 2>&1
    crafter_wakes $G/eval/frozen_$2; } & pids+=($!); }
}

doom_choice() {  # each new ViZDoom file (`candidates`, and the decoder and causal arms') at each
  # of LEVELS: the gate (teacher-forced, both scenarios) and the validation screen (noise seeds
  # 0, 1, 2), in parallel -> $G/eval/{gate,val}_*
  local pair f tag level set pids=()
  local pairs=($(candidates doom) decoder:/tmp/gdd/decoder_new.pt causal:/tmp/gdc/causal_new.pt)
  eval_threads
  for pair in "${pairs[@]}"; do
    tag=${pair%%:*} f=${pair#*:}
    compgen -G "$f*" >/dev/null || continue  # a file or its .part* (exports are split)
    for level in ${LEVELS:-0.2 0}; do
      validation_rollouts "$f" doom "$level" $G/eval/val_${tag}_$level "${LONG_SECONDS:-300}" &
      pids+=($!)
      for set in doom_my_way_home doom_deathmatch; do
        timeout "${LONG_SECONDS:-300}" python3 ../evals/doom_horizon.py $G/held/$set \
          $G/eval/gate_${tag}_${set}_$level 256 0 16 "$f" cuda "$level" \
          >$G/eval/gate_${tag}_${set}_$level.log 2>&1 & pids+=($!)
      done
    done
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

crafter_eval() {  # model file -> $G/eval/crafter_grid$TAG: issue 16's Crafter grid (50 held-out
  # seeds a task, 300 steps, each cell's episodes in lockstep, BATCH at a time (default 50: a cell
  # is written when its batch ends); POLICIES (default all, the likelihood planner last, so that the
  # time limit cuts it first); EXTRA: more `worldsim control` overrides, e.g.
  # EXTRA=control.imagine.guidance=2 TAG=_g2). No videos: 300-step GIFs are ~6 MB each.
  mkdir -p $G/eval
  POLICIES=${POLICIES:-prompt,no_prompt,short_prompt,random,scripted,likelihood} timeout \
    "${GRID_SECONDS:-400}" bash experiments/prompt_control/run_grid.sh "$1" 50 \
    "$G/eval/crafter_grid${TAG:-}" control.batch="${BATCH:-50}" control.videos=0 ${EXTRA:-}
}

case ${1:-} in
  start) start ;;
  push_eval | crafter_eval | screen | judge | wake) [ -d /tmp/site ] || install
    export PYTHONPATH=/tmp/site:$PWD  # this call's tree: a cold machine has no $G/repo
    : "${CKPT:?$1 needs CKPT=model file (crafter_eval, screen, judge: e.g. pretrained:crafter)}"
    case $1 in judge | wake) $1 $CKPT ;; *) $1 "$CKPT" ;; esac  # CKPT="FILE FILE ..."
    cd $G && pack_eval ;;
  snapshot | finish | more) [ -f $G/deadline ] || { echo "cold machine: call 1's state in $G is gone"; exit 3; }
    $1 ;;
  *) echo "usage: device_calls.sh start|snapshot|finish|more|push_eval|crafter_eval|screen|judge|wake" >&2
    exit 2 ;;
esac
