#!/usr/bin/env bash
# One device study: rollouts of ENV -> train-vae (bf16, no LPIPS: no trunk weights there) -> held-out
# PSNR/SSIM -> encode the store into a latent cache -> decode 2 episodes -> GPU benchmark (bounce only).
# Writes OUT/vae_ENV.ckpt in fp16 (half the size, so it can travel back: files from the device are <= 16 MiB).
# Run from the repo root with the device preamble (PYTHONPATH, MUJOCO_GL=egl) already exported.
# Usage: bash experiments/autoencoder/gpu_vae.sh ENV OUT_DIR TRAIN_MINUTES   (ENV: a configs/env/*.yaml name)
set -euo pipefail
ENV=${1:?env, e.g. bounce or doom_deathmatch}; OUT=${2:?out dir}; MINUTES=${3:-3.5}
STORE=/tmp/$ENV; RUN=runs/vae_$ENV; FULL=/tmp/vae_$ENV.ckpt
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -m worldsim.cli rollout env=$ENV episodes=320 steps=65 workers=14 seed=0 out=$STORE progress=false \
  2>&1 | tail -2 | tee "$OUT/rollout_$ENV.log"
python3 -m worldsim.cli train-vae configs/train/vae_bounce.yaml data.root=$STORE loss.perceptual=none \
  trainer.max_minutes=$MINUTES out=$RUN export=$FULL 2>&1 | grep -v -i warn | tail -25 | tee "$OUT/train_$ENV.log"
cp $RUN/eval.json "$OUT/eval_$ENV.json"
python3 -c "import sys; from worldsim.models.autoencoder import load_autoencoder, save_autoencoder as s; \
s(load_autoencoder(sys.argv[1]).half(), sys.argv[2])" $FULL "$OUT/vae_$ENV.ckpt"
python3 -m worldsim.cli encode store=$STORE checkpoint=$FULL out=/tmp/${ENV}_latents 2>&1 | tail -1 \
  | tee "$OUT/encode_$ENV.log"
python3 -m worldsim.cli decode cache=/tmp/${ENV}_latents out=$OUT/decoded_$ENV limit=2 ext=gif 2>&1 | tail -2
if [ "$ENV" = bounce ]; then
  python3 benchmarks/bench_autoencoder.py --device cuda --checkpoint $FULL --repeats 20 \
    --out "$OUT/autoencoder_gpu.json" | head -12
fi
