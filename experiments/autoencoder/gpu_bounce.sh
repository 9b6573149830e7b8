#!/usr/bin/env bash
# One device call: MuJoCo Bounce 64x64 rollouts -> train-vae (bf16, no LPIPS: no trunk weights there)
# -> held-out PSNR/SSIM -> encode the store into a latent cache -> decode 2 episodes -> benchmark.
# Run from the repo root with the device preamble (PYTHONPATH, MUJOCO_GL=egl) already exported.
# Usage: bash experiments/autoencoder/gpu_bounce.sh OUT_DIR TRAIN_MINUTES
set -euo pipefail
OUT=${1:?out dir}; MINUTES=${2:-3.5}
STORE=/tmp/bounce; RUN=runs/vae_bounce
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -m worldsim.cli rollout env=bounce episodes=320 steps=65 workers=14 seed=0 out=$STORE progress=false \
  2>&1 | tail -2 | tee "$OUT/rollout.log"
python3 -m worldsim.cli train-vae configs/train/vae_bounce.yaml data.root=$STORE loss.perceptual=none \
  trainer.max_minutes=$MINUTES out=$RUN export=$OUT/vae_bounce.ckpt 2>&1 | grep -v -i warn | tail -25 \
  | tee "$OUT/train.log"
cp $RUN/eval.json "$OUT/eval.json"
cp $RUN/logs/version_*/metrics.csv "$OUT/metrics.csv"
mkdir -p "$OUT/videos" && cp $(ls $RUN/logs/version_*/videos/recon_*.gif | tail -4) "$OUT/videos/"
python3 -m worldsim.cli encode store=$STORE checkpoint=$OUT/vae_bounce.ckpt out=/tmp/bounce_latents 2>&1 | tail -1 \
  | tee "$OUT/encode.log"
cp /tmp/bounce_latents/stats.json "$OUT/latent_stats.json"
python3 -m worldsim.cli decode cache=/tmp/bounce_latents out=$OUT/decoded limit=2 ext=gif 2>&1 | tail -2
python3 benchmarks/bench_autoencoder.py --device cuda --checkpoint $OUT/vae_bounce.ckpt --repeats 20 \
  --out "$OUT/autoencoder_gpu.json" | head -12
python3 benchmarks/bench_autoencoder.py --device cuda --checkpoint $OUT/vae_bounce.ckpt --repeats 20 \
  --dtype bfloat16 --out "$OUT/autoencoder_gpu_bf16.json" | head -12
