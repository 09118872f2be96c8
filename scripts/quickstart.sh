#!/usr/bin/env bash
# Quick start, command 1: set everything up, build, and run the main job end to end.
# The main job grows with the project; today: check every shipped recipe, show the schedule of
# the MNIST pruning + quantization recipe, and train mnist_cnn on MNIST with the pruning recipe.
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
echo
echo "== sparsify train --recipe recipes/mnist_cnn-pruned90.yaml (mnist_cnn on MNIST, 10 epochs) =="
"$SPARSIFY" train --recipe recipes/mnist_cnn-pruned90.yaml --output-dir out/quickstart --overwrite
