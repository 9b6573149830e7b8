#!/usr/bin/env bash
# A device call copies the working tree, which may hold at most 64 MiB with what it carries; the
# repository's results, images and shipped models are more. `hold` moves them out of the tree
# into HOLD (default /tmp/hold), keeping the shipped models named in KEEP; `restore` puts every
# file back as it was. Never commit while held: the held files are missing from the tree.
#   KEEP="crafter" bash experiments/device_hold.sh hold    # the tree with crafter.pt only
#   bash experiments/device_hold.sh restore
set -euo pipefail
HOLD=${HOLD:-/tmp/hold}
cd "$(git rev-parse --show-toplevel)"
case ${1:-} in
  hold)
    if [ -f "$HOLD/files.tar" ]; then
      echo "$HOLD/files.tar exists: the tree is held already; run restore first" >&2
      exit 2
    fi
    mkdir -p "$HOLD"
    # what no run reads: result tables, logs, pictures and videos (the eval specs are read)
    git ls-files | grep -E '^(experiments|benchmarks|evals|docs)/.*\.(json|log|png|gif|mp4|jpg|tgz)$' |
      grep -v '^evals/specs/' >"$HOLD/list"
    for model in worldsim/assets/pretrained/*.pt; do
      [[ " ${KEEP:-} " == *" $(basename "$model" .pt) "* ]] || echo "$model" >>"$HOLD/list"
    done
    tar cf "$HOLD/files.tar.tmp" -T "$HOLD/list" && mv "$HOLD/files.tar.tmp" "$HOLD/files.tar"
    xargs -d '\n' rm <"$HOLD/list"
    echo "held $(wc -l <"$HOLD/list") files; the tracked tree now: $(git ls-files |
      xargs -d '\n' du -cb 2>/dev/null | tail -n 1 | cut -f1 | numfmt --to=iec)" ;;
  restore)
    tar xf "$HOLD/files.tar" && rm "$HOLD/files.tar"
    git status --short ;;
  *)
    echo "usage: [KEEP=\"crafter doom\"] bash experiments/device_hold.sh hold|restore" >&2
    exit 2 ;;
esac
