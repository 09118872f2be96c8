#!/usr/bin/env bash
# Builds the default zoo out of the box: trains the project's own MNIST models (dense, pruned,
# pruned + quantized) with the shipped recipes, exports them, and publishes them with their
# recipes, model cards and training checkpoints into a local zoo directory. `sparsify zoo search`
# and `sparsify run zoo:...` then work with no server. Idempotent: a complete zoo is left alone.
#   SPARSIFY_DEFAULT_ZOO_DIR  where the zoo lives (default ~/.cache/sparsify/default-zoo, shared by
#                             clones on this machine); <repo>/data/zoo links to it
#   SPARSIFY_ZOO_QUICK=1      train on 3000 images only (for checking this script; not for use)
# Training budgets are shorter than the full recipes' (set by --recipe-args below and written into
# each model card and checkpoint), so the default zoo builds in minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARSIFY="${SPARSIFY_BUILD_DIR:-$ROOT/build}/apps/sparsify"
ZOO="${SPARSIFY_DEFAULT_ZOO_DIR:-$HOME/.cache/sparsify/default-zoo}"
WORK="$ZOO.work"
log() { printf '[zoo] %s\n' "$*"; }

# name | recipe | recipe args | export format | long stub | transfer recipe?
MODELS=(
  "dense|recipes/mnist_cnn-dense.yaml|{\"num_epochs\": 2, \"decay_start_epoch\": 1.0}|fp32|zoo:cv/classification/mnist_cnn/pytorch/sparsify/mnist/base-none|no"
  "pruned90|recipes/mnist_cnn-pruned90.yaml|{\"num_epochs\": 4, \"pruning_start_epoch\": 0.5, \"pruning_end_epoch\": 3.0}|fp32|zoo:cv/classification/mnist_cnn/pytorch/sparsify/mnist/pruned90-none|yes"
  "pruned90_quant|recipes/mnist_cnn-pruned90-quant.yaml|{\"num_epochs\": 5, \"pruning_start_epoch\": 0.5, \"pruning_end_epoch\": 3.0}|int8|zoo:cv/classification/mnist_cnn/pytorch/sparsify/mnist/pruned90_quant-none|yes"
)

complete=1
if [ -f "$ZOO/index.json" ]; then
  for m in "${MODELS[@]}"; do
    IFS='|' read -r _ _ _ _ stub _ <<< "$m"
    grep -qF "\"${stub}\"" "$ZOO/index.json" || complete=0
  done
else
  complete=0
fi
if [ "$complete" -eq 1 ]; then
  log "default zoo present: $ZOO"
else
  limit=()
  [ "${SPARSIFY_ZOO_QUICK:-0}" = "1" ] && limit=(--train-limit 3000 --test-limit 1000)
  mkdir -p "$WORK"
  for m in "${MODELS[@]}"; do
    IFS='|' read -r name recipe args format stub transfer <<< "$m"
    if grep -qF "\"${stub}\"" "$ZOO/index.json" 2>/dev/null; then continue; fi
    log "training $name ($recipe, $args)"
    "$SPARSIFY" train --recipe "$ROOT/$recipe" --recipe-args "$args" -o "$WORK/$name" --overwrite --threads 0 \
      "${limit[@]}" 2> "$WORK/$name.log" | tail -2
    log "exporting $name ($format)"
    rm -rf "$WORK/$name/export"
    "$SPARSIFY" export --checkpoint "$WORK/$name" --format "$format" -o "$WORK/$name/export/model.onnx" >> "$WORK/$name.log" 2>&1
    mkdir -p "$WORK/$name/export/recipes" "$WORK/$name/export/training"
    cp "$ROOT/$recipe" "$WORK/$name/export/recipes/recipe.yaml"
    [ "$transfer" = "yes" ] && cp "$ROOT/recipes/mnist_cnn-transfer.yaml" "$WORK/$name/export/recipes/recipe_transfer_learn.yaml"
    last="$(cat "$WORK/$name/checkpoints/last")"
    cp "$WORK/$name/checkpoints/$last"/{model.pt,recipe.yaml,state.json,manager.pt} "$WORK/$name/export/training/"
    log "publishing $stub"
    "$SPARSIFY" zoo publish "$WORK/$name/export" --zoo "$ZOO" --stub "$stub" --replace
  done
  rm -rf "$WORK"
fi
mkdir -p "$ROOT/data"
if [ ! -e "$ROOT/data/zoo" ] || [ -L "$ROOT/data/zoo" ]; then ln -sfn "$ZOO" "$ROOT/data/zoo"; fi
log "default zoo: $ROOT/data/zoo -> $ZOO"
