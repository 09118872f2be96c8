// The int8 depthwise conv table (an expansion of kernels.inc) and its selection.
#include <cstring>

#include "engine/kernels/qdwconv/family.h"

namespace sparsify::engine {

const std::vector<QDwConvKernel>& qdwconv_kernels() {
  static const std::vector<QDwConvKernel> kTable = {
#define SPARSIFY_QDWCONV(name, isa) QDwConvKernel{#name, Isa::isa, &name},
#include "engine/kernels/qdwconv/kernels.inc"
#undef SPARSIFY_QDWCONV
  };
  return kTable;
}

const QDwConvKernel& select_qdwconv(Isa isa) {
  for (const auto& row : qdwconv_kernels()) {
    if (row.isa <= isa) return row;
  }
  return qdwconv_kernels().back();
}

const QDwConvKernel* find_qdwconv(const char* name) {
  for (const auto& row : qdwconv_kernels()) {
    if (std::strcmp(row.name, name) == 0) return &row;
  }
  return nullptr;
}

}  // namespace sparsify::engine
