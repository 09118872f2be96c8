#!/usr/bin/env bash
# Real-model parity: export (idempotent), run in ONNX Runtime, compare in the engine.
# usage: parity.sh MODEL_PARITY_BINARY CACHE_DIR [small|full] [model_parity options...]
# Exit 77 (skipped) when python3-torch/torchvision/onnx, node or onnxruntime-node is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"; cache="$2"; config="${3:-small}"; shift 3 || shift $#
command -v node >/dev/null || { echo "parity: skipped: node not found"; exit 77; }
/usr/bin/python3 -c "import torch, torchvision, onnx" 2>/dev/null || { echo "parity: skipped: python3-torch/torchvision/onnx missing"; exit 77; }
rc=0; /usr/bin/python3 "$here/export_models.py" --out "$cache" --config "$config" || rc=$?
[ "$rc" = 0 ] || exit "$rc"
dirs=()
for m in resnet50 mobilenet_v2 bert; do
  d="$cache/$config/$m"
  if [ ! -f "$d/test_data_set_0/output_0.pb" ] || [ "$d/model.onnx" -nt "$d/test_data_set_0/output_0.pb" ]; then
    rc=0; node "$here/ort_run.js" "$d/model.onnx" "$d/test_data_set_0" --write-outputs >/dev/null || rc=$?
    [ "$rc" = 0 ] || exit "$rc"
  fi
  dirs+=("$d")
done
exec "$bin" "${dirs[@]}" "$@"
