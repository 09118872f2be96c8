#!/usr/bin/env bash
# Training speed of `sparsify train` against PyTorch from Python on the same model (mnist_cnn),
# data (MNIST), batch (128), optimizer (SGD, momentum 0.9) and threads, interleaved in one run.
# Dense (recipes/mnist_cnn-dense.yaml) and pruning (recipes/mnist_cnn-pruned90.yaml, with masks
# updated every step during the measured window) are both measured against the same peer.
#   bench/train_speed.sh [ROUNDS=5] [IMAGES=12800] [THREADS=2]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"; IMAGES="${2:-12800}"; THREADS="${3:-2}"
SPARSIFY="${SPARSIFY_BUILD_DIR:-$ROOT/build}/apps/sparsify"
DATA="$ROOT/data/mnist"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"
py=(); dense=(); prune=()
for r in $(seq "$ROUNDS"); do
  py+=("$(/usr/bin/python3 bench/train_mnist_pytorch.py --data-dir "$DATA" --threads "$THREADS" --images "$IMAGES" \
          | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["images_per_second"])')")
  dense+=("$("$SPARSIFY" train --recipe recipes/mnist_cnn-dense.yaml --recipe-args '{"num_epochs": 1, "decay_start_epoch": 0.5}' \
            --train-limit "$IMAGES" --test-limit 1000 --threads "$THREADS" -o "$TMP/d$r" 2>/dev/null \
            | sed -n 's/.* \([0-9.]*\) train images\/s/\1/p')")
  prune+=("$("$SPARSIFY" train --recipe recipes/mnist_cnn-pruned90.yaml \
            --recipe-args '{"num_epochs": 1, "pruning_start_epoch": 0.0, "pruning_end_epoch": 0.99, "pruning_update_frequency": -1}' \
            --train-limit "$IMAGES" --test-limit 1000 --threads "$THREADS" -o "$TMP/p$r" 2>/dev/null \
            | sed -n 's/.* \([0-9.]*\) train images\/s/\1/p')")
done
/usr/bin/python3 - "${py[*]}" "${dense[*]}" "${prune[*]}" "$ROUNDS" "$IMAGES" "$THREADS" <<'PY'
import statistics, sys
py, dense, prune = (list(map(float, s.split())) for s in sys.argv[1:4])
mp, md, mq = statistics.median(py), statistics.median(dense), statistics.median(prune)
print(f"mnist_cnn training, batch 128, {sys.argv[6]} threads, {sys.argv[5]} images per run, {sys.argv[4]} interleaved rounds (medians):")
print(f"  PyTorch (Python)               {mp:8.0f} images/s   1.00x")
print(f"  sparsify train, dense          {md:8.0f} images/s   {md/mp:.2f}x")
print(f"  sparsify train, GMP every step {mq:8.0f} images/s   {mq/mp:.2f}x   (pruning bookkeeping: {100*(1-mq/md):.1f} % of step time)")
PY
