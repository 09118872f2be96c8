// Shape helpers: element counts, printing and binding symbolic dims to concrete ones.
#include "engine/graph/shape.h"

#include <limits>

namespace sparsify::engine {

std::int64_t dims_numel(const Dims& dims) {
  std::int64_t n = 1;
  bool overflow = false;
  for (std::int64_t d : dims) {
    if (d == 0) return 0;
    overflow = overflow || __builtin_mul_overflow(n, d, &n);
  }
  return overflow ? std::numeric_limits<std::int64_t>::max() : n;
}

std::string dims_to_string(const Dims& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    if (shape[i].is_known()) s += std::to_string(shape[i].value);
    else if (shape[i].is_symbol()) s += shape[i].symbol;
    else s += "?";
  }
  return s + "]";
}

Status bind_shape(const std::string& what, const Shape& declared, const Dims& actual,
                  std::map<std::string, std::int64_t>& symbols) {
  if (declared.size() != actual.size()) {
    return invalid_argument(what, ": rank is ", actual.size(), " (shape ", dims_to_string(actual),
                            "), expected ", declared.size(), " (shape ", shape_to_string(declared), ")");
  }
  for (std::size_t i = 0; i < declared.size(); ++i) {
    const Dim& d = declared[i];
    if (d.is_known() && d.value != actual[i]) {
      return invalid_argument(what, ": dim ", i, " is ", actual[i], ", expected ", d.value,
                              " (shape ", shape_to_string(declared), ")");
    }
    if (d.is_symbol()) {
      auto [it, inserted] = symbols.emplace(d.symbol, actual[i]);
      if (!inserted && it->second != actual[i]) {
        return invalid_argument(what, ": dim ", i, " ('", d.symbol, "') is ", actual[i],
                                " but '", d.symbol, "' is ", it->second, " elsewhere");
      }
    }
  }
  return Status();
}

}  // namespace sparsify::engine
