// Shapes: concrete dims (Dims) and declared shapes whose dims may be named symbols (Shape).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sparsify::engine {

/// Concrete extents, outermost first. A rank-0 tensor has empty Dims.
using Dims = std::vector<std::int64_t>;

/// One declared dimension: a known extent or a named symbol ("batch"); neither means "any".
struct Dim {
  std::int64_t value = -1;  // >= 0 when known
  std::string symbol;       // non-empty when symbolic

  bool is_known() const { return value >= 0; }
  bool is_symbol() const { return !symbol.empty(); }
  static Dim known(std::int64_t v) { return Dim{v, {}}; }
  static Dim named(std::string s) { return Dim{-1, std::move(s)}; }
};

/// A declared shape (from graph inputs, outputs and value_info).
using Shape = std::vector<Dim>;

/// Number of elements (1 for rank 0). Dims are assumed non-negative; a product beyond int64
/// saturates to INT64_MAX (dims read from a model's shape tensors can be anything).
std::int64_t dims_numel(const Dims& dims);
/// "[2,3,4]"
std::string dims_to_string(const Dims& dims);
/// "[batch,3,224,224]" ("?" for an unknown dim)
std::string shape_to_string(const Shape& shape);

/// Binds a declared shape to concrete dims: ranks and known extents must match, and every symbol
/// must take one value across all calls sharing `symbols`. Errors name `what` and the values.
Status bind_shape(const std::string& what, const Shape& declared, const Dims& actual,
                  std::map<std::string, std::int64_t>& symbols);

}  // namespace sparsify::engine
