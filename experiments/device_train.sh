# Shared stages of the device training scripts (sourced by experiments/*/run*.sh): the DiT trained
# under a DEADLINE and its export. A device call's limit kills everything at once, so training gets
# SIGINT at DEADLINE (unix seconds), saves last.ckpt, and export falls back to it: every call ends
# with its exported model. Needs WORK, CFG, ROOTS (comma-separated latent caches), DIT (overrides).
ws() { python3 -m worldsim.cli "$@"; }  # the GPU machines have the package on PYTHONPATH only

bundled_vae() {  # VAE -> the checkpoint encode reads: a world model file's (pretrained:NAME or a
  # path) bundled VAE is written out once as WORK/vae.ckpt (no vae stage); WORK/vae.ckpt is kept
  local vae=${1:-$WORK/vae.ckpt}
  if [ "$vae" != "$WORK/vae.ckpt" ]; then
    [ -f "$WORK/vae.ckpt" ] || python3 -c "import sys; from worldsim.models.autoencoder import \
load_autoencoder as load, save_autoencoder as save; save(load(sys.argv[1]), sys.argv[2])" \
      "$vae" "$WORK/vae.ckpt"
  fi
  echo "$WORK/vae.ckpt"
}

train() {  # resumes WORK/dit's last.ckpt when there is one, else starts from INIT (if set)
  local resume=() stop=()
  [ -n "${INIT:-}" ] && resume=(init="$INIT")
  [ -f "$WORK/dit/checkpoints/last.ckpt" ] && resume=(train.resume="$WORK/dit/checkpoints/last.ckpt")
  if [ "${DEADLINE:-0}" -gt 0 ]; then
    local left=$((DEADLINE - $(date +%s)))
    [ $left -gt 0 ] || { echo "train: DEADLINE passed before training began"; return 0; }
    stop=(timeout -s INT -k 60 $left)
  fi
  local rc=0
  "${stop[@]}" python3 -m worldsim.cli train $CFG/dit.yaml "data.roots=[$ROOTS]" \
    out="$WORK/dit" "${DIT[@]}" "${resume[@]}" || rc=$?
  # a run stopped at the DEADLINE says "interrupted at step N: saved ..." above; without that line
  # it died (a crash, or KILL 60 s on) and export takes the last periodic checkpoint
  echo "train: exit code $rc"
  [ $rc -eq 0 ] || [ ${#stop[@]} -gt 0 ]
}

export_model() {  # one fp16 file with the VAE (and caption table), in parts of <= 15 MiB
  # ema.ckpt is written when a run ends by itself; a run stopped at the DEADLINE leaves last.ckpt
  # (its state_dict holds the EMA weights), newer than an ema.ckpt of an earlier call's run
  local ckpt=$WORK/dit/ema.ckpt last=$WORK/dit/checkpoints/last.ckpt
  if [ ! -f "$ckpt" ] || [ "$last" -nt "$ckpt" ]; then ckpt=$last; fi
  local decoder=()  # run.sh's decoder stage left a decoder for these latents: bundle it
  [ -f "$WORK/decoder.ckpt" ] && decoder=(autoencoder="$WORK/decoder.ckpt")
  ws export ckpt="$ckpt" out="$WORK/$1" max_part_mb=15 "${decoder[@]}"
}
