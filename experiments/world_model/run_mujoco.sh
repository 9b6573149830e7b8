#!/usr/bin/env bash
# pretrained:mujoco: the five MuJoCo scenes recorded at 64x64 (Bounce, Collide and Occlude without
# actions; Orbit's camera and Push's agent driven by a scripted/random mix), one VAE, latent caches,
# one DiT with actions (no text), exported as one shippable fp16 file.
#
# Usage: bash experiments/world_model/run_mujoco.sh WORK STAGE...
#   STAGE: record | vae | encode | train | export   (each reuses what the earlier ones left in WORK)
# SIZE=smoke runs the same path tiny on a CPU. Knobs: configs/experiment/mujoco/{vae,dit}.yaml;
# DEADLINE (unix seconds) stops training in time for export (experiments/device_train.sh);
# TRAIN_MINUTES is cumulative over resumed calls. The device needs MUJOCO_GL=egl (RESULTS.md).
# Other models of these scenes: SCENES (env configs), EPISODES_EACH, STEPS, WORKERS (recording), CFG
# (the DiT's config folder; the VAE's is VAE_CFG), TEXT_TABLE (captions through a text table made
# by `worldsim embed-text`; unset: no text), NAME (the exported file), DIT_EXTRA (more overrides),
# RECORD_EXTRA (more `worldsim record` overrides, e.g. env.kwargs.wander=0.5 for push_control),
# SEED (the first recorded seed), ENCODE_SHARDS (encode processes per scene), VAE and INIT (continue a model file: its bundled VAE, no vae
# stage, and its DiT weights).
# The Push model of prompt control (experiments/prompt_control/RESULTS.md):
#   SCENES=push_control EPISODES_EACH=1200 STEPS=129 CFG=configs/experiment/push_control \
#   VAE_CFG=configs/experiment/mujoco/vae.yaml NAME=push_control.pt \
#   TEXT_TABLE=worldsim/assets/text/push_control_minilm.npz bash run_mujoco.sh WORK record vae ...
set -euo pipefail
WORK=${1:?usage: run_mujoco.sh WORK STAGE...}
shift
CFG=${CFG:-configs/experiment/mujoco}
VAE_CFG=${VAE_CFG:-$CFG/vae.yaml}
SCENES=(${SCENES:-bounce collide occlude orbit push})
declare -A EPISODES=([bounce]=480 [collide]=320 [occlude]=320 [orbit]=480 [push]=480)
TEXT=(text.name=none)
[ -n "${TEXT_TABLE:-}" ] && TEXT=(text.table="$TEXT_TABLE")
if [ "${SIZE:-gpu}" = smoke ]; then
  RECORD=(steps=33 workers=1) SCALE=0
  VAE_ARGS=(trainer.max_steps=10 data.batch_size=2 data.num_workers=0 trainer.precision=32-true
    model.base_channels=8 model.norm_groups=4 eval_episodes=1)
  DIT=(train.max_steps=10 data.batch_size=4 model.dim=64 model.depth=2 train.val_every=5
    train.precision=32-true)
else
  RECORD=(steps=${STEPS:-65} workers=${WORKERS:-6}) SCALE=1
  VAE_ARGS=(trainer.max_minutes="${VAE_MINUTES:-3}")
  DIT=(train.max_minutes="${TRAIN_MINUTES:-4}" train.compile=true)
fi
DIT+=(${DIT_EXTRA:-})
ROOTS=$(printf "$WORK/latents_%s," "${SCENES[@]}") ROOTS=${ROOTS%,}
mkdir -p "$WORK"
source experiments/device_train.sh  # ws, bundled_vae, train (under DEADLINE), export_model
VAE=$(bundled_vae "${VAE:-}")  # WORK/vae.ckpt: given (written out now) or trained by `vae`

record() {  # training seeds from SEED (0); evaluation seeds (1,000,000+) never overlap
  local pids=()
  for env in "${SCENES[@]}"; do
    local n=${EPISODES_EACH:-${EPISODES[$env]:-0}}
    ((SCALE)) || n=2
    ws record env=$env policy=mixed episodes=$n "${RECORD[@]}" seed="${SEED:-0}" out="$WORK/$env" \
      progress=false ${RECORD_EXTRA:-} & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

vae() {
  [ -f "$VAE" ] && { echo "vae: using $VAE"; return; }
  local roots
  roots=$(printf "$WORK/%s," "${SCENES[@]}")
  ws train-vae $VAE_CFG "data.roots=[${roots%,}]" out="$WORK/vae" export="$WORK/vae.ckpt" \
    "${VAE_ARGS[@]}"
}

encode() {  # ENCODE_SHARDS processes per scene, all on one GPU: reading the store is the limit
  local n=${ENCODE_SHARDS:-1} pids=() env i
  for env in "${SCENES[@]}"; do
    for ((i = 0; i < n; i++)); do
      ws encode store="$WORK/$env" checkpoint="$VAE" out="$WORK/latents_$env" "${TEXT[@]}" \
        shard=$i/$n progress=false & pids+=($!)
    done
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

for stage in "$@"; do
  echo "== $stage $(date -u +%H:%M:%S)"
  case $stage in
    record | vae | encode | train) $stage ;;
    export) export_model "${NAME:-mujoco.pt}" ;;
    *) echo "unknown stage $stage (record | vae | encode | train | export)" >&2; exit 2 ;;
  esac
done
echo "== done $(date -u +%H:%M:%S)"
