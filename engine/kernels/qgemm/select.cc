// The int8 GEMM table (an expansion of kernels.inc) and its selection.
#include <cstring>

#include "engine/kernels/qgemm/family.h"

namespace sparsify::engine {

const std::vector<QGemmKernel>& qgemm_kernels() {
  static const std::vector<QGemmKernel> kTable = {
#define SPARSIFY_QGEMM(name, isa, mr, nr, left, right, pack_a, pack_b) \
  QGemmKernel{#name, Isa::isa, mr, nr, &left, &right, &pack_a, &pack_b},
#include "engine/kernels/qgemm/kernels.inc"
#undef SPARSIFY_QGEMM
  };
  return kTable;
}

const QGemmKernel& select_qgemm(Isa isa) {
  for (const auto& row : qgemm_kernels()) {
    if (row.isa <= isa) return row;
  }
  return qgemm_kernels().back();
}

const QGemmKernel* find_qgemm(const char* name) {
  for (const auto& row : qgemm_kernels()) {
    if (std::strcmp(row.name, name) == 0) return &row;
  }
  return nullptr;
}

}  // namespace sparsify::engine
