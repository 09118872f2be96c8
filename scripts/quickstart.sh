#!/usr/bin/env bash
# Quick start, command 1: set everything up, build, and run the main job end to end.
# The main job grows with the project; today it is the recipe system: check every shipped
# recipe and show the schedule of the MNIST pruning + quantization recipe.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
SPARSIFY="${SPARSIFY_BUILD_DIR:-$ROOT/build}/apps/sparsify"
cd "$ROOT"
echo
echo "== sparsify recipe check (every shipped recipe) =="
for r in recipes/*.yaml; do "$SPARSIFY" recipe check "$r"; done
echo
echo "== sparsify recipe show recipes/mnist_cnn-pruned90-quant.yaml (MNIST, batch 128: 469 steps/epoch) =="
"$SPARSIFY" recipe show recipes/mnist_cnn-pruned90-quant.yaml --steps-per-epoch 469
