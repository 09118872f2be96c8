// The int8 direct conv table (an expansion of kernels.inc), its lookup and the vector cover.
#include <cstring>

#include "engine/kernels/qdirect/family.h"

namespace sparsify::engine {

const std::vector<QDirectConvKernel>& qdirect_kernels() {
  static const std::vector<QDirectConvKernel> kTable = {
#define SPARSIFY_QDIRECT(name, isa, vector) QDirectConvKernel{#name, Isa::isa, vector, &name},
#include "engine/kernels/qdirect/kernels.inc"
#undef SPARSIFY_QDIRECT
  };
  return kTable;
}

const QDirectConvKernel* find_qdirect(const char* name) {
  for (const auto& row : qdirect_kernels()) {
    if (std::strcmp(row.name, name) == 0) return &row;
  }
  return nullptr;
}

bool qdirect_vector_covers(const ConvGeom& g, std::size_t channels) {
  return g.kw <= 4 && g.dw == 1 && (g.sw == 1 || g.sw == 2) && channels >= 1 && channels <= 4 && g.kh <= 7;
}

}  // namespace sparsify::engine
