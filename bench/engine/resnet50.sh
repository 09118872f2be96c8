#!/usr/bin/env bash
# Dense speed: ResNet-50 fp32, batch 1, sparsify vs ONNX Runtime (onnxruntime-node), interleaved
# round by round so that both see the same machine load. Prints per-round medians, the median of
# the round medians for each, and the ratio sparsify / ORT (target: <= 1.25).
#
# usage: bench/engine/resnet50.sh [--build DIR] [--threads N] [--rounds N] [--iterations N] [--model resnet50|mobilenet_v2|bert]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$root/build-run"; threads=2; rounds=5; iterations=10; model=resnet50
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
sparsify="$build/apps/sparsify"
[ -x "$sparsify" ] || { echo "build $sparsify first (ninja -C $build sparsify)" >&2; exit 1; }
/usr/bin/python3 "$root/tests/models/export_models.py" --out "$build/models" --config full --models "$model" >/dev/null
dir="$build/models/full/$model"
data="$dir/test_data_set_0"
[ -f "$data/output_0.pb" ] || node "$root/tests/models/ort_run.js" "$dir/model.onnx" "$data" --write-outputs >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
s_meds=(); o_meds=()
echo "model $model fp32 batch 1, threads $threads, $rounds rounds x $iterations iterations (2 warm-up runs each)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  s=$("$sparsify" run "$dir/model.onnx" --input-dir "$data" --threads "$threads" --iterations "$iterations" --warmup 2 |
      sed -n 's/^time: median \([0-9.]*\) ms.*/\1/p')
  o=$(node "$root/tests/models/ort_run.js" "$dir/model.onnx" "$data" --threads "$threads" --iterations "$iterations" --warmup 2 |
      sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p')
  printf "round %d: sparsify %8.2f ms   onnxruntime %8.2f ms\n" "$r" "$s" "$o"
  s_meds+=("$s"); o_meds+=("$o")
done
sm=$(printf "%s\n" "${s_meds[@]}" | median)
om=$(printf "%s\n" "${o_meds[@]}" | median)
printf "median: sparsify %.2f ms, onnxruntime %.2f ms, ratio sparsify/ort %.2f (target <= 1.25)\n" "$sm" "$om" \
  "$(echo "$sm / $om" | bc -l)"
