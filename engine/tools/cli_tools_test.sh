#!/bin/sh
# CLI test for `sparsify optimize` and `sparsify benchmark`: error paths with their exit codes, then
# an end-to-end optimize (block4 + int8, random calibration) and benchmark of a tiny model.
# usage: cli_tools_test.sh SPARSIFY_BINARY TOOLS_TEST_BINARY
set -u
bin="$1"; tools_test="$2"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fails=0
expect() {  # expect CODE DESCRIPTION -- command...
  want="$1"; what="$2"; shift 3
  "$@" >"$tmp/out" 2>&1; got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/  | /' "$tmp/out"; fails=$((fails + 1))
  else
    echo "ok: $what (exit $got)"
  fi
}
SPARSIFY_TEST_MODEL_OUT="$tmp/conv.onnx" "$tools_test" "[.write_model]" >/dev/null || { echo "cannot write the test model"; exit 1; }
SPARSIFY_TEST_MODEL=mlp SPARSIFY_TEST_MODEL_OUT="$tmp/mlp.onnx" "$tools_test" "[.write_model]" >/dev/null || exit 1

expect 6 "optimize: missing model file" -- "$bin" optimize "$tmp/missing.onnx" -o "$tmp/o.onnx" --sparsity 0.5
expect 3 "optimize: --sparsity 1.5" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/o.onnx" --sparsity 1.5
expect 3 "optimize: --sparsity -0.1" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/o.onnx" --sparsity=-0.1
expect 2 "optimize: --sparsity abc (a usage error)" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/o.onnx" --sparsity abc
expect 4 "optimize: --mask-type block8" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/o.onnx" --sparsity 0.5 --mask-type block8
expect 4 "optimize: --quantize int4" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/o.onnx" --quantize int4 --calibration random
expect 3 "optimize: --quantize without calibration" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/o.onnx" --quantize int8
expect 5 "optimize: missing --calibration-dir" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/o.onnx" --quantize int8 --calibration-dir "$tmp/nope"
expect 6 "optimize: output directory missing" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/no/dir/o.onnx" --sparsity 0.5
[ -e "$tmp/o.onnx" ] && { echo "FAIL: a failed optimize left an output"; fails=$((fails + 1)); }
expect 6 "benchmark: missing model file" -- "$bin" benchmark "$tmp/missing.onnx" -t 0.1
expect 4 "benchmark: bad scenario" -- "$bin" benchmark "$tmp/conv.onnx" -t 0.1 -s elastic

expect 0 "optimize conv: block4 90% + int8" -- "$bin" optimize "$tmp/conv.onnx" -o "$tmp/conv_q.onnx" --sparsity 0.9 --mask-type block4 \
  --quantize int8 --calibration random --calibration-samples 4
grep -q "int8 per-channel" "$tmp/out" || { echo "FAIL: no quantized rows in the table"; cat "$tmp/out"; fails=$((fails + 1)); }
grep -q "QLinearConv" "$tmp/out" || { echo "FAIL: the engine did not fold the QDQ convs"; cat "$tmp/out"; fails=$((fails + 1)); }
expect 0 "optimize mlp: 80% unstructured" -- "$bin" optimize "$tmp/mlp.onnx" -o "$tmp/mlp_p.onnx" --sparsity 0.8
grep -q "79.98%" "$tmp/out" || { echo "FAIL: expected round(0.8 x 2048) / 2048 = 79.98% rows"; cat "$tmp/out"; fails=$((fails + 1)); }
expect 0 "benchmark sync with --json and --profile" -- "$bin" benchmark "$tmp/conv_q.onnx" -b 2 -t 0.2 -w 0.05 --json "$tmp/b.json" --profile
grep -q '"throughput_items_per_s"' "$tmp/b.json" && grep -q '"p99"' "$tmp/b.json" && grep -q '"profile"' "$tmp/b.json" ||
  { echo "FAIL: JSON misses fields"; cat "$tmp/b.json"; fails=$((fails + 1)); }
expect 0 "benchmark async, 2 streams" -- "$bin" benchmark "$tmp/mlp_p.onnx" -t 0.2 -w 0.05 -s async --streams 2 --threads 2
grep -q "streams 2" "$tmp/out" || { echo "FAIL: async did not use 2 streams"; cat "$tmp/out"; fails=$((fails + 1)); }
[ "$fails" = 0 ] && echo "all CLI checks passed" || { echo "$fails CLI check(s) failed"; exit 1; }
