#!/usr/bin/env bash
# The game world model: Crafter (actions + captions) and ViZDoom (actions) recorded, one VAE shared
# by both, latent caches with caption embeddings, one DiT, exported as one shippable fp16 file.
#
# Usage: bash experiments/game_world_models/run.sh WORK STAGE...
#   STAGE: record | vae | decoder | encode | train | export | evaluate   (each reuses what the
#   earlier ones left in WORK; evaluate records the held-out seeds and runs evaluate.py on
#   WORK/game.pt)
# Sizes are the GPU run of RESULTS.md; SIZE=smoke runs the same path tiny on a CPU in ~3 minutes.
# Knobs live in configs/experiment/game_world_models/{vae,dit}.yaml; TRAIN_MINUTES is cumulative
# over resumed calls (the GPU run trains in several calls on one warm machine). DEADLINE (unix
# seconds) stops training in time for the stages after it: a device call's limit kills everything
# at once, and a run killed before `export` is lost with the machine (2026-11-30, RESULTS.md).
# To continue the shipped model on a fresh machine: VAE=pretrained:crafter (its bundled VAE, no vae
# stage) and INIT=pretrained:crafter (its DiT weights; the optimiser starts afresh).
# More knobs: WORKERS / DOOM_WORKERS (recording processes per store), ENCODE_SHARDS (encode
# processes per store on one GPU), DIT_EXTRA (more `worldsim train` overrides), CRAFTER_STEPS
# (the Crafter mix's step cap, 257 unless given: at 257 no episode reaches the end of its first
# night, which ends at about step 300; 1001 lets the survivors show dawns and later days,
# RESULTS section 68).
set -euo pipefail
WORK=${1:?usage: run.sh WORK STAGE...}
shift
CFG=configs/experiment/game_world_models
TEXT_TABLE=worldsim/assets/text/crafter_minilm.npz
if [ "${SIZE:-gpu}" = smoke ]; then
  CRAFTER=(episodes=3 steps=41 workers=1) DOOM=(episodes=2 steps=41 workers=1)
  PLANT=(episodes=1 steps=41 workers=1) COW=(episodes=1 steps=41 workers=1)
  SCRIPTED=(episodes=1 steps=41 workers=1)
  VAE_ARGS=(trainer.max_steps=20 data.batch_size=4 data.num_workers=0 trainer.precision=32-true)
  DIT=(train.max_steps=30 data.batch_size=4 data.num_workers=0 train.val_every=10)
else
  CRAFTER=(episodes=${CRAFTER_EPISODES:-1440} steps=${CRAFTER_STEPS:-257} workers=${WORKERS:-12})
  DOOM=(episodes=${DOOM_EPISODES:-160} steps=257 workers=${DOOM_WORKERS:-2})
  PLANT=(episodes=${PLANT_EPISODES:-96} steps=513 workers=${PLANT_WORKERS:-4})
  COW=(episodes=${COW_EPISODES:-288} steps=257 workers=${COW_WORKERS:-4})
  SCRIPTED=(episodes=${SCRIPTED_EPISODES:-500} steps=${CRAFTER_STEPS:-257}
    workers=${SCRIPTED_WORKERS:-4})
  VAE_ARGS=(trainer.max_minutes="${VAE_MINUTES:-3}")
  DIT=(train.max_minutes="${TRAIN_MINUTES:-4}" train.compile=true)
fi
# DOOM_TEXT=scene: ViZDoom with its caption's scene sentence as text ("First-person view in Doom:
# a maze of rooms and corridors."; 4 sentences, one per scenario, in DOOM_SCENES), so that a model
# of several scenarios is told which one it plays (RESULTS section 19); else ViZDoom has no text
DOOM_SCENES=worldsim/assets/text/doom_scenes_minilm.npz SCENE_ONLY=("text.keep=[First-person]")
[ -n "${DOOM_TEXT:-}" ] && DIT+=("${SCENE_ONLY[@]}")
DIT+=(${DIT_EXTRA:-})  # more `worldsim train` overrides, e.g. DIT_EXTRA="flow.drop_actions=0.5"
VAE_ARGS+=(${VAE_EXTRA:-})  # more `train-vae` overrides (vae, decoder), e.g. loss.object_weight=20
# STORES=crafter: Crafter alone; STORES="doom_my_way_home doom_deathmatch" (with
# DIT_EXTRA=text.name=none): ViZDoom alone. CRAFTER_SEED / DOOM_SEED: the first training seed of
# Crafter / of each ViZDoom store (new seeds: new episodes for a continued model).
# STORES="crafter crafter_eat_plant": with a slice of PLANT_EPISODES 513-step task=eat_plant
# episodes (seeds after the crafter store's): a sapling ripens only after ~300 steps, so the
# 257-step mix never shows eat_plant. STORES="... crafter_eat_cow": COW_EPISODES task=eat_cow
# episodes (seeds after the plant store's): the mix draws the cow hunt in 1 episode of 17, and
# prompt control's imagined plans never reach and hit a cow (prompt_control RESULTS section 14).
# STORES="... crafter_scripted": SCRIPTED_EPISODES episodes of the planners alone (policy=scripted,
# seeds after the cow store's, the mix's step cap): the mix's sleeps are mostly naps of the random
# play (49 of 73 under 20 frames, 5 of 80 or more), the planners' sleep until their energy is full
# (about 89 frames; RESULTS section 76)
STORES=(${STORES:-crafter doom_my_way_home doom_deathmatch})
NAME=${NAME:-game.pt}  # the exported file under WORK
ROOTS=$(printf '%s,' "${STORES[@]/#/$WORK/latents_}") ROOTS=${ROOTS%,}
mkdir -p "$WORK"
source experiments/device_train.sh  # ws, bundled_vae, train (under DEADLINE), export_model
VAE=$(bundled_vae "${VAE:-}")  # WORK/vae.ckpt: given (written out now) or trained by `vae`

record() {  # the stores in parallel; held-out evaluation seeds start at 100000
  local pids=() store
  for store in "${STORES[@]}"; do
    local env=$store args=("${DOOM[@]}" seed="${DOOM_SEED:-0}") first=${CRAFTER_SEED:-0}
    local policy=mixed
    case $store in
      crafter) env=crafter_mix args=("${CRAFTER[@]}" seed="$first") ;;
      crafter_eat_plant) env=crafter_mix args=("${PLANT[@]}" env.kwargs.task=eat_plant
        seed=$((first + ${CRAFTER[0]#episodes=}))) ;;
      crafter_eat_cow) env=crafter_mix args=("${COW[@]}" env.kwargs.task=eat_cow
        seed=$((first + ${CRAFTER[0]#episodes=} + ${PLANT[0]#episodes=}))) ;;
      crafter_scripted) env=crafter_mix policy=scripted args=("${SCRIPTED[@]}" seed=$((first +
        ${CRAFTER[0]#episodes=} + ${PLANT[0]#episodes=} + ${COW[0]#episodes=}))) ;;
    esac
    # CRAFTER_RECORD_EXTRA: more `record` overrides of every Crafter store, e.g.
    # env.kwargs.hits=true (captions that say the player's hits; envs/crafter/env.py)
    [[ $store == crafter* ]] && args+=(${CRAFTER_RECORD_EXTRA:-})
    ws record env="$env" policy=$policy "${args[@]}" out="$WORK/$store" progress=false &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

vae() {  # trained once: a rerun keeps the exported VAE the latents were encoded with
  [ -f "$VAE" ] && { echo "vae: using $VAE"; return; }
  local roots
  roots=$(printf '%s,' "${STORES[@]/#/$WORK/}")
  ws train-vae $CFG/vae.yaml "data.roots=[${roots%,}]" out="$WORK/vae" \
    export="$WORK/vae.ckpt" "${VAE_ARGS[@]}"
}

decoder() {  # the VAE's decoder trained alone for DECODER_MINUTES (until DEADLINE) on the stores,
  # the encoder frozen: the latents stay valid, and `export` bundles the new decoder (RESULTS
  # section 18: the VAE caps the teacher-forced bars)
  local roots minutes=${DECODER_MINUTES:-10}
  roots=$(printf '%s,' "${STORES[@]/#/$WORK/}")
  if [ "${DEADLINE:-0}" -gt 0 ]; then  # done 2 minutes before DEADLINE (its evaluation and export)
    minutes=$(python3 -c "print(max(0.5, min($minutes, ($DEADLINE - $(date +%s) - 120) / 60)))")
  fi
  ws train-vae $CFG/vae.yaml "data.roots=[${roots%,}]" init="$VAE" decoder_only=true \
    out="$WORK/decoder" export="$WORK/decoder.ckpt" "${VAE_ARGS[@]}" trainer.max_minutes="$minutes"
}

encode() {  # Crafter's caption sentences come from the shipped table: no text encoder needed
  # n processes a store, all on one GPU: reading the store is the limit
  local n=${ENCODE_SHARDS:-1} pids=() store i
  for store in "${STORES[@]}"; do
    local text=(text.name=none)
    [[ $store == crafter* ]] && text=(text.table=$TEXT_TABLE)
    [[ $store == doom* && -n ${DOOM_TEXT:-} ]] && text=(text.table=$DOOM_SCENES "${SCENE_ONLY[@]}")
    for ((i = 0; i < n; i++)); do
      ws encode store="$WORK/$store" checkpoint="$VAE" out="$WORK/latents_$store" "${text[@]}" \
        shard=$i/$n progress=false & pids+=($!)
    done
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

evaluate() {  # held-out seeds start at 100000 (training uses 0..); the evaluation of RESULTS.md
  local held=$WORK/game_eval n=32 device=cuda long=long
  # smoke: the short measurements only (the long rollouts' stores are 100k+ frames)
  [ "${SIZE:-gpu}" = smoke ] && n=2 device=cpu long=""
  ws record env=crafter_mix policy=mixed episodes=$n steps=257 seed=100000 out="$held/crafter" \
    progress=false
  # the 1,000-frame rollout's Crafter truth and references: 10 of these 384 scripted episodes
  # live 1,001 frames (103k frames in all)
  [ -n "$long" ] && ws record env=crafter_mix policy=scripted episodes=384 steps=1001 \
    seed=100000 out="$held/crafter_long" workers="${WORKERS:-12}" progress=false
  if [[ " ${STORES[*]} " == *" doom_my_way_home "* ]]; then  # a Crafter-only model skips ViZDoom
    ws record env=doom_my_way_home policy=mixed episodes=8 steps=257 seed=100000 \
      out="$held/doom_my_way_home" progress=false
    [ -n "$long" ] && ws record env=doom_my_way_home policy=mixed episodes=12 steps=1001 \
      seed=100000 out="$held/doom_long" progress=false
  fi
  python3 experiments/game_world_models/evaluate.py "$held" "$WORK/eval" $device "$long" \
    "$WORK/$NAME"
}

for stage in "$@"; do
  echo "== $stage $(date -u +%H:%M:%S)"
  case $stage in
    record | vae | decoder | encode | train | evaluate) $stage ;;
    export) export_model "$NAME" ;;
    *) echo "unknown stage $stage (record | vae | decoder | encode | train | export | evaluate)" >&2
      exit 2 ;;
  esac
done
echo "== done $(date -u +%H:%M:%S)"
