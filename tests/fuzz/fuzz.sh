#!/usr/bin/env bash
# Builds and runs the loader fuzzer (libFuzzer, clang-14).
#   fuzz.sh --build [DIR]        configure DIR (default build-fuzz) with clang++, the engine
#                                instrumented for coverage + ASan, and build onnx_loader_fuzz
#   fuzz.sh --run BINARY [ARGS]  run it briefly on a seed corpus of ONNX node-test models
#                                (default -runs=2000 -max_total_time=20); exit 77 if BINARY is absent
#   fuzz.sh --smoke BINARY [RUNS] [SECONDS]  the same corpus through mutation_driver.cc (GCC builds)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
case "${1:-}" in
  --build)
    dir="${2:-$root/build-fuzz}"
    command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang-14 libfuzzer-14-dev)"; exit 1; }
    cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DSPARSIFY_WITH_TORCH=OFF -DSPARSIFY_FUZZ=ON \
      -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer $SPARSIFY_FUZZ_EXTRA_FLAGS" >/dev/null
    ninja -C "$dir" -j2 onnx_loader_fuzz
    echo "fuzz: built $dir/tests/fuzz/onnx_loader_fuzz"
    ;;
  --run|--smoke)
    mode="$1"; bin="${2:-}"; shift 2 || true
    [ -x "$bin" ] || { echo "fuzz: skipped: $bin not built (tests/fuzz/fuzz.sh --build)"; exit 77; }
    corpus="$(mktemp -d)"; trap 'rm -rf "$corpus"' EXIT
    seeds=/usr/share/libonnx-testdata/data/node
    if [ -d "$seeds" ]; then
      for m in $(ls "$seeds" | awk 'NR % 8 == 1'); do cp "$seeds/$m/model.onnx" "$corpus/$m.onnx" 2>/dev/null || true; done
    fi
    if [ "$mode" = --smoke ]; then exec "$bin" "$corpus" "${1:-20000}" "${2:-20}"; fi
    args=("$@"); [ ${#args[@]} -gt 0 ] || args=(-runs=2000 -max_total_time=20)
    ASAN_OPTIONS=detect_leaks=0 "$bin" "$corpus" -rss_limit_mb=2048 -timeout=10 "${args[@]}"
    ;;
  *) echo "usage: fuzz.sh --build [DIR] | --run BINARY [libFuzzer args] | --smoke BINARY [RUNS] [SECONDS]" >&2; exit 2 ;;
esac
