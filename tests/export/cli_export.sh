#!/bin/sh
# `sparsify export` end to end on the QAT checkpoint export_models_test trained: int8 to the default
# place (OUT/export/model.onnx), then ONNX Runtime on its test data; a bad flag fails cleanly.
# usage: cli_export.sh SPARSIFY ARTIFACTS NODE RUN_ONNX_JS
set -eu
sparsify=$1 artifacts=$2 node=$3 run_onnx=$4
run="$artifacts/qat_run"
rm -rf "$run/export"
"$sparsify" export --checkpoint "$run" --format int8 --opset 13 --samples 32
test -f "$run/export/model.onnx"
test -f "$run/export/test_data_set_0/input_0.pb"
test -f "$run/export/test_data_set_0/output_0.pb"
grep -q '^  format: int8' "$run/export/model.md"
"$node" "$run_onnx" "$run/export" --min-agreement 0.96
# Errors: an unknown format and a missing checkpoint exit non-zero with one line.
if "$sparsify" export --checkpoint "$run" --format int4 2>/dev/null; then echo "int4 accepted"; exit 1; fi
if "$sparsify" export --checkpoint "$artifacts/no_such_run" 2>/dev/null; then echo "missing checkpoint accepted"; exit 1; fi
echo "cli export ok"
