#!/usr/bin/env bash
# Quick start, command 2: set everything up, build, and run the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
BUILD_DIR="${SPARSIFY_BUILD_DIR:-$ROOT/build}"
cd "$BUILD_DIR"
ctest --output-on-failure -j "${SPARSIFY_JOBS:-2}" "$@"
