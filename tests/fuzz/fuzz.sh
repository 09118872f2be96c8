#!/usr/bin/env bash
# Builds and runs the loader fuzzer (libFuzzer, clang-14).
#   fuzz.sh --build [DIR]        configure DIR (default build-fuzz) with clang++-14, the engine
#                                instrumented for coverage + ASan + UBSan, and build onnx_loader_fuzz
#   fuzz.sh --run BINARY [ARGS]  run it briefly on a seed corpus of ONNX node-test models
#                                (default -max_total_time=20); exit 77 if BINARY is absent
#   fuzz.sh --ctest DIR [ARGS]   what ctest runs in non-fuzz builds: exit 77 when clang++ or
#                                libFuzzer is missing, else --build DIR (incremental; the first
#                                build takes minutes) and --run
#   fuzz.sh --smoke BINARY [RUNS] [SECONDS]  the same corpus through mutation_driver.cc (GCC builds)
# SPARSIFY_FUZZ_CXX picks the compiler (default clang++-14, else clang++); SPARSIFY_FUZZ_EXTRA_FLAGS
# adds compile flags.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

# ASan for memory errors; UBSan (non-recovering, so libFuzzer sees a crash) for overflow and bad
# float-to-int conversions in shape arithmetic, which ASan misses.
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

find_cxx() {
  local c
  for c in ${SPARSIFY_FUZZ_CXX:-clang++-14 clang++}; do
    if command -v "$c" >/dev/null; then command -v "$c"; return 0; fi
  done
  return 1
}

# True when $1 can link a libFuzzer target (clang without libclang_rt.fuzzer fails here).
have_libfuzzer() {
  local tmp ok=1
  tmp="$(mktemp -d)"
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }\n' >"$tmp/t.cc"
  "$1" -fsanitize=fuzzer,address,undefined "$tmp/t.cc" -o "$tmp/t" >/dev/null 2>&1 || ok=0
  rm -rf "$tmp"
  [ "$ok" = 1 ]
}

# Explicit `|| return`: set -e does not apply inside a function called from `if !`.
build() {
  local dir="$1" cxx
  cxx="$(find_cxx)" || { echo "fuzz: clang++ not found (apt-get install clang-14 libfuzzer-14-dev)"; return 1; }
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
    -DSPARSIFY_WITH_TORCH=OFF -DSPARSIFY_FUZZ=ON \
    -DCMAKE_CXX_FLAGS="$flags ${SPARSIFY_FUZZ_EXTRA_FLAGS:-}" >/dev/null || return 1
  ninja -C "$dir" -j2 onnx_loader_fuzz || return 1
  echo "fuzz: built $dir/tests/fuzz/onnx_loader_fuzz"
}

case "${1:-}" in
  --build)
    build "${2:-$root/build-fuzz}"
    ;;
  --ctest)
    dir="${2:?usage: fuzz.sh --ctest DIR [libFuzzer args]}"; shift 2
    cxx="$(find_cxx)" || { echo "fuzz: skipped: clang++-14 not found"; exit 77; }
    have_libfuzzer "$cxx" || { echo "fuzz: skipped: $cxx cannot link -fsanitize=fuzzer (libfuzzer-14-dev)"; exit 77; }
    mkdir -p "$dir"
    if ! build "$dir" >"$dir/fuzz_build.log" 2>&1; then
      tail -n 40 "$dir/fuzz_build.log"; echo "fuzz: build failed (log: $dir/fuzz_build.log)"; exit 1
    fi
    tail -n 1 "$dir/fuzz_build.log"
    exec "$0" --run "$dir/tests/fuzz/onnx_loader_fuzz" "$@"
    ;;
  --run|--smoke)
    mode="$1"; bin="${2:-}"; shift 2 || true
    [ -x "$bin" ] || { echo "fuzz: skipped: $bin not built (tests/fuzz/fuzz.sh --build)"; exit 77; }
    corpus="$(mktemp -d)"; trap 'rm -rf "$corpus"' EXIT
    seeds=/usr/share/libonnx-testdata/data/node
    if [ -d "$seeds" ]; then
      for m in $(ls "$seeds" | awk 'NR % 8 == 1'); do cp "$seeds/$m/model.onnx" "$corpus/$m.onnx" 2>/dev/null || true; done
    fi
    cp "$root"/tests/fuzz/regressions/* "$corpus"/ 2>/dev/null || true  # past crashes, re-checked every run
    if [ "$mode" = --smoke ]; then "$bin" "$corpus" "${1:-20000}" "${2:-20}"; exit; fi
    args=("$@"); [ ${#args[@]} -gt 0 ] || args=(-max_total_time=20)
    # Crash reproducers go to the working directory (ctest: the build's tests/fuzz). -timeout is for
    # hangs: a valid model can take ~20 s in the instrumented reference ops (a 3-D ConvTranspose
    # with 256M multiply-adds did), which is slow, not a bug.
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" "$bin" "$corpus" -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 "${args[@]}"
    ;;
  *) echo "usage: fuzz.sh --build [DIR] | --ctest DIR [libFuzzer args] | --run BINARY [libFuzzer args] | --smoke BINARY [RUNS] [SECONDS]" >&2; exit 2 ;;
esac
