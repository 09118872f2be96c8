// The dense-or-sparse policy for layers with constant weights (Options::sparse, SPARSIFY_SPARSE).
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/base/status.h"

namespace sparsify::engine {

/// kAuto measures each layer (zeros, block structure, estimated and, when close, timed cost) and
/// keeps the faster; kOff never uses sparse kernels; kOn uses them wherever they apply (tests).
enum class SparseMode : std::uint8_t { kAuto, kOff, kOn };

/// "auto", "off", "on".
const char* sparse_mode_name(SparseMode mode);

/// Parses "auto" / "off" / "on" (case-insensitive); anything else is invalid_argument naming
/// `what` (e.g. "SPARSIFY_SPARSE") and the valid values.
StatusOr<SparseMode> parse_sparse_mode(std::string_view text, std::string_view what);

}  // namespace sparsify::engine
