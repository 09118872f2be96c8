#!/usr/bin/env bash
# Peer benchmark for sparse inference: sparsify vs ONNX Runtime 1.30 (onnxruntime-node) vs PyTorch,
# on ResNet-50, MobileNetV2 and a BERT-base-shaped encoder, each dense fp32, pruned 90 % fp32 and
# pruned block4 + int8 (made with `sparsify optimize`). Measurements are interleaved round by round
# (every engine and variant once per round) so that all see the same machine load; the table shows
# medians over rounds and speed-ups against ONNX Runtime dense fp32 of the same model and batch.
# Outputs of sparsify and ONNX Runtime on the same ONNX file are compared first.
#
# usage: bench/sparse/run.sh [--build DIR] [--models resnet50,mobilenet_v2,bert] [--batches 1,16]
#          [--rounds 3] [--seconds 5] [--warmup 1] [--threads 2] [--engines sparsify,ort,torch]
#          [--q-sparsity resnet50=0.95,mobilenet_v2=0.85,bert=0.90] [--out DIR] [--no-check]
# Models and variants are cached under OUT (default <repo>/build/bench) and remade only when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${SPARSIFY_BUILD_DIR:-$root/build}"; models="resnet50,mobilenet_v2,bert"; batches="1,16"
rounds=3; seconds=5; warmup=1; threads=2; engines="sparsify,ort,torch"; out="$root/build/bench"; check=1
qsparsity="resnet50=0.95,mobilenet_v2=0.85,bert=0.90"
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --engines) engines="$2"; shift 2 ;;
    --q-sparsity) qsparsity="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-check) check=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
sparsify="$build/apps/sparsify"
[ -x "$sparsify" ] || { echo "run.sh: build $sparsify first (ninja -C $build sparsify)" >&2; exit 1; }
"$sparsify" benchmark --help >/dev/null 2>&1 || { echo "run.sh: $sparsify has no 'benchmark' command; rebuild it" >&2; exit 1; }
command -v node >/dev/null || { echo "run.sh: node not found (scripts/setup.sh installs it)" >&2; exit 1; }
py=/usr/bin/python3
has() { case ",$engines," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
qs_of() { echo "$qsparsity" | tr ',' '\n' | sed -n "s/^$1=//p"; }

log() { printf '[bench] %s\n' "$*" >&2; }
mkdir -p "$out/results"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
tsv="$out/results/$stamp.tsv"; checks="$out/results/$stamp.checks.tsv"
printf 'round\tmodel\tbatch\tengine\tvariant\tmedian_ms\titerations\tload1\n' >"$tsv"
printf 'model\tvariant\toutput\tmax_abs_diff\trel_diff\ttolerance\tok\n' >"$checks"

# 1. Export (idempotent: export_models.py keeps a stamp per model).
log "exporting $models (cached in $out/models)"
"$py" "$here/models.py" export --out "$out/models" --models "$models" >&2

# 2. Variants with sparsify optimize (remade when missing or older than the dense model).
variants_of() { echo "dense p90 q"; }
variant_label() {
  case "$2" in
    dense) echo "dense fp32" ;;
    p90) echo "pruned 90% fp32" ;;
    q) echo "pruned $(awk "BEGIN {print $(qs_of "$1") * 100}")% block4 int8" ;;
  esac
}
for m in ${models//,/ }; do
  d="$out/models/bench/$m"
  [ -n "$(qs_of "$m")" ] || { echo "run.sh: no --q-sparsity for $m" >&2; exit 2; }
  if [ ! -f "$d/p90.onnx" ] || [ "$d/model.onnx" -nt "$d/p90.onnx" ]; then
    log "$m: pruning 90% fp32"
    "$sparsify" optimize "$d/model.onnx" -o "$d/p90.onnx" --sparsity 0.9 --threads "$threads" >"$d/p90.log"
  fi
  qsp="$(qs_of "$m")"
  if [ ! -f "$d/q.onnx" ] || [ "$d/model.onnx" -nt "$d/q.onnx" ] || [ "$(cat "$d/q.sparsity" 2>/dev/null)" != "$qsp" ]; then
    log "$m: pruning $qsp block4 + int8 (random calibration, 8 samples)"
    "$sparsify" optimize "$d/model.onnx" -o "$d/q.onnx" --sparsity "$qsp" --mask-type block4 --quantize int8 \
      --calibration random --calibration-samples 8 --threads "$threads" >"$d/q.log"
    echo "$qsp" >"$d/q.sparsity"
  fi
done

# 3. Output agreement: ONNX Runtime writes its outputs for the exported batch-1 inputs, sparsify run
#    compares (relative to max |ORT output|). fp32: 1e-3; int8: 0.1 (requantization rounding
#    differs by one step in places and the steps compound over the layers).
if [ "$check" = 1 ]; then
  for m in ${models//,/ }; do
    d="$out/models/bench/$m"
    for v in $(variants_of); do
      f="$d/model.onnx"; [ "$v" = dense ] || f="$d/$v.onnx"
      c="$d/check_$v"; mkdir -p "$c"; cp "$d"/test_data_set_0/input_* "$d/test_data_set_0/inputs.json" "$c/"
      node "$root/tests/models/ort_run.js" "$f" "$c" --threads "$threads" --write-outputs >/dev/null 2>"$c/ort.log"
      tol=0.001; [ "$v" = q ] && tol=0.1
      "$sparsify" run "$f" --input-dir "$c" --threads "$threads" |
        sed -n "s/^vs expected '\(.*\)': max |difference| \([^ ]*\) (relative to max |expected| [^:]*: \([^)]*\))/\1 \2 \3/p" |
        while read -r name abs rel; do
          ok=$(awk "BEGIN {print ($rel <= $tol) ? \"yes\" : \"NO\"}")
          printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$(variant_label "$m" "$v")" "$name" "$abs" "$rel" "$tol" "$ok" >>"$checks"
          log "check $m $v '$name': max |diff| $abs, relative $rel (tolerance $tol): $ok"
        done
    done
  done
fi

# 4. Timing, interleaved: per round, per model and batch, every engine and variant once.
json_ms() { sed -n 's/.*"median_ms": *\([0-9.e+-]*\).*/\1/p'; }
json_it() { sed -n 's/.*"iterations": *\([0-9]*\).*/\1/p'; }
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$(cut -d' ' -f1 /proc/loadavg)" >>"$tsv"
           log "round $1 $2 b$3 $4 $5: median $6 ms ($7 iterations, load $(cut -d' ' -f1 /proc/loadavg))"; }
log "timing: rounds $rounds, ${seconds}s + ${warmup}s warm-up each, threads $threads, batches $batches, engines $engines"
log "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for m in ${models//,/ }; do
    d="$out/models/bench/$m"
    for b in ${batches//,/ }; do
      for v in $(variants_of); do
        f="$d/model.onnx"; [ "$v" = dense ] || f="$d/$v.onnx"
        label="$(variant_label "$m" "$v")"
        if has sparsify; then
          "$sparsify" benchmark "$f" -b "$b" -t "$seconds" -w "$warmup" --threads "$threads" --json "$d/last.json" >/dev/null
          record "$r" "$m" "$b" sparsify "$label" "$(sed -n 's/.*"median": *\([0-9.e+-]*\).*/\1/p' "$d/last.json")" \
                 "$(sed -n 's/.*"iterations": *\([0-9]*\).*/\1/p' "$d/last.json")"
        fi
        if has ort; then
          o=$(node "$here/ort_bench.js" "$f" "$d/test_data_set_0/inputs.json" --batch "$b" --seconds "$seconds" --warmup "$warmup" --threads "$threads" --min-iterations 1)
          record "$r" "$m" "$b" onnxruntime "$label" "$(echo "$o" | json_ms)" "$(echo "$o" | json_it)"
        fi
        if has torch && [ "$v" = dense ]; then
          o=$("$py" "$here/models.py" torch --model "$m" --batch "$b" --seconds "$seconds" --warmup "$warmup" --threads "$threads" --min-iterations 1)
          record "$r" "$m" "$b" pytorch "$label" "$(echo "$o" | json_ms)" "$(echo "$o" | json_it)"
        fi
      done
    done
  done
done

# 5. The table.
"$py" "$here/summarize.py" "$tsv" "$checks"
log "raw numbers: $tsv; output checks: $checks"
