// The int8 SpMM table (an expansion of kernels.inc), its selection and block statistics.
#include <cstring>

#include "engine/kernels/qspmm/family.h"

namespace sparsify::engine {

const std::vector<QSpmmKernel>& qspmm_kernels() {
  static const std::vector<QSpmmKernel> kTable = {
#define SPARSIFY_QSPMM(name, isa, nr, pack_a, pack_b, transpose, transpose_dequant) \
  QSpmmKernel{#name, Isa::isa, nr, &name, &pack_a, &pack_b, &transpose, &transpose_dequant},
#include "engine/kernels/qspmm/kernels.inc"
#undef SPARSIFY_QSPMM
  };
  return kTable;
}

const QSpmmKernel& select_qspmm(Isa isa, std::size_t n, std::size_t k) {
  // ResNet-50 convs at 95 % block-4 zeros, 1 thread: the 1x1 convs on 14x14 and 7x7 run 20-25 %
  // faster with 1x64 than 1x16; the 3x3 ones prefer the row whose tile stays small (1x32 at
  // 14x14, 1x16 at 7x7 with K = 4608).
  constexpr std::size_t kTileBytes = 128 * 1024;
  const auto& table = qspmm_kernels();
  Isa top = Isa::kScalar;
  for (const auto& row : table) {
    if (row.isa <= isa) {
      top = row.isa;
      break;
    }
  }
  const QSpmmKernel* narrowest = nullptr;
  const std::size_t n1 = n == 0 ? 1 : n;
  for (const auto& row : table) {
    if (row.isa != top) continue;
    narrowest = &row;
    if (k == 0 ? round_up(n1, row.nr) * 8 <= n1 * 9 : round_up(n1, row.nr) * 3 <= n1 * 4 && k * row.nr <= kTileBytes) return row;
  }
  return narrowest != nullptr ? *narrowest : table.back();
}

const QSpmmKernel* find_qspmm(const char* name) {
  for (const auto& row : qspmm_kernels()) {
    if (std::strcmp(row.name, name) == 0) return &row;
  }
  return nullptr;
}

}  // namespace sparsify::engine
