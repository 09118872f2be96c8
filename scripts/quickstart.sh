#!/usr/bin/env bash
# Quick start, command 1: set everything up, build, and run the main job end to end.
# The main job: check every shipped recipe, show the schedule of the MNIST prune + quantize
# recipe, train mnist_cnn on MNIST with it, export the result to int8 ONNX, and run that in the
# engine, printing accuracy (training) and speed and parity (engine).
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
echo "== 1. sparsify train: mnist_cnn on MNIST, pruned to 92.6 % then quantization-aware (12 epochs) =="
"$SPARSIFY" train --recipe recipes/mnist_cnn-pruned90-quant.yaml --output-dir out/quickstart --overwrite
echo
echo "== 2. sparsify export: int8 ONNX (QLinearConv, MatMulInteger) with 256 test images and outputs =="
"$SPARSIFY" export --checkpoint out/quickstart --format int8 --samples 256
echo
echo "== 3. sparsify run: the int8 model in the engine, checked against LibTorch's outputs =="
"$SPARSIFY" run out/quickstart/export/model.onnx --input-dir out/quickstart/export/test_data_set_0 --threads 2 --iterations 50
