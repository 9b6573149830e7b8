#!/usr/bin/env bash
# Eat cow's autoencoder on one device call (RESULTS.md section 24): `pretrained:crafter`'s decoder
# trained alone with the creatures' pixels weighted (`train-vae decoder_only=true
# loss.object_weight=WEIGHT`; the encoder frozen, so the shipped DiT's latents stay valid),
# bundled with the shipped DiT, and judged in the same call: the faced cow's cell and the loop
# from states facing a cow (cow_face_probe.py), and game RESULTS' teacher-forced bars on the
# frozen held set for the bundle and for the shipped file (a new decoder must keep them).
#
#   bash experiments/prompt_control/decoder_call.sh        (a device call carrying WHEELS)
#
# Knobs: WHEELS (default .whlc), MIX / COW (training episodes: the mix with hits from seed 22,000,
# as section 23, and the cow hunts after them), WEIGHT (20), DECODER_MINUTES (3.5), STARTS /
# STEPS (cow_face_probe's 40 / 16), WINDOWS (teacher-forced windows, 256), VAE_EXTRA (more
# train-vae overrides). Returns in $OUT: decoder.ckpt (bundle it with `worldsim export
# ckpt=pretrained:crafter autoencoder=decoder.ckpt out=FILE`), its eval.json, the probe's and
# the teacher-forced JSON, and the log. SIZE=smoke: the same path in a minute on a CPU.
set -u
W=${W:-/tmp/dc} OUT=${OUT:-$W/out} DEVICE=cuda
mkdir -p "$W" "$OUT"
exec > >(tee "$OUT/decoder_call.log") 2>&1
if [ "${SIZE:-gpu}" = smoke ]; then
  MIX=3 COW=2 HELD=2 STARTS=1 STEPS=1 WINDOWS=2 DEVICE=cpu WORKERS=1
  VAE_EXTRA="trainer.max_steps=2 data.batch_size=2 data.num_workers=0 trainer.precision=32-true ${VAE_EXTRA:-}"
else
  [ -d /tmp/site ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site "${WHEELS:-.whlc}"/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
MIX=${MIX:-400} COW=${COW:-120} HELD=${HELD:-32}
ws() { python3 -m worldsim.cli "$@"; }
echo "== record $(date -u +%T)"
ws record env=crafter_mix env.kwargs.hits=true policy=mixed episodes="$MIX" steps=257 seed=22000 \
  out=$W/mix workers="${WORKERS:-10}" progress=false & pids=($!)
ws record env=crafter_mix env.kwargs.hits=true env.kwargs.task=eat_cow policy=mixed \
  episodes="$COW" steps=257 seed=$((22000 + MIX)) out=$W/cow workers="${WORKERS:-4}" \
  progress=false & pids+=($!)
# the frozen held set of game RESULTS section 15 (teacher_forced.py checks its manifest)
ws record env=crafter_mix policy=mixed episodes="$HELD" steps=257 seed=100000 out=$W/held \
  workers="${WORKERS:-2}" progress=false & pids+=($!)
wait "${pids[@]}"  # not a bare `wait`: it would wait for the log's tee too
echo "== decoder $(date -u +%T)"
ws train-vae configs/experiment/game_world_models/vae.yaml "data.roots=[$W/mix,$W/cow]" \
  init=pretrained:crafter decoder_only=true loss.object_weight="${WEIGHT:-20}" \
  trainer.max_minutes="${DECODER_MINUTES:-3.5}" out=$W/decoder export=$W/decoder.ckpt \
  ${VAE_EXTRA:-} || exit 1
cp $W/decoder.ckpt $W/decoder/eval.json "$OUT/"
ws export ckpt=pretrained:crafter autoencoder=$W/decoder.ckpt out=$W/bundle.pt || exit 1
echo "== judge $(date -u +%T)"
(cd experiments/game_world_models &&
  for f in $W/bundle.pt pretrained:crafter; do
    timeout 200 python3 teacher_forced.py $W/held "${WINDOWS:-256}" "$f" $DEVICE \
      >"$OUT/tf_$(basename "${f#pretrained:}" .pt).json"
  done) & tf=$!
DEVICE=$DEVICE timeout 300 python3 experiments/prompt_control/cow_face_probe.py "${STARTS:-40}" \
  "${STEPS:-16}" $W/bundle.pt prompt_execute4 prompt_guidance1_execute4 no_prompt_execute4 \
  >"$OUT/cow_face.json"
wait $tf
echo "== done $(date -u +%T)"
