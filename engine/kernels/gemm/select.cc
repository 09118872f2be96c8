// The fp32 GEMM table (an expansion of kernels.inc) and the choice of a row for a problem size.
#include <cstring>

#include "engine/kernels/gemm/family.h"

namespace sparsify::engine {

const std::vector<F32GemmKernel>& f32_gemm_kernels() {
  static const std::vector<F32GemmKernel> kTable = {
#define SPARSIFY_F32_GEMM(name, isa, mr, nr, eff, pack_a, pack_b) \
  F32GemmKernel{#name, Isa::isa, mr, nr, eff, &name, &pack_a, &pack_b},
#define SPARSIFY_F32_GEMM_PACK(pack_a, pack_b)
#include "engine/kernels/gemm/kernels.inc"
#undef SPARSIFY_F32_GEMM
#undef SPARSIFY_F32_GEMM_PACK
  };
  return kTable;
}

const F32GemmKernel& select_f32_gemm(Isa isa, std::size_t m, std::size_t n, std::size_t k) {
  (void)k;
  const auto& table = f32_gemm_kernels();
  Isa best_isa = Isa::kScalar;
  for (const auto& row : table) {
    if (row.isa <= isa && row.isa > best_isa) best_isa = row.isa;
  }
  const F32GemmKernel* best = nullptr;
  double best_cost = 0;
  for (const auto& row : table) {
    if (row.isa != best_isa) continue;
    const double cost = double(round_up(m == 0 ? 1 : m, row.mr)) * double(round_up(n == 0 ? 1 : n, row.nr)) / row.efficiency;
    if (best == nullptr || cost < best_cost) {
      best = &row;
      best_cost = cost;
    }
  }
  return *best;
}

const F32GemmKernel* find_f32_gemm(const char* name) {
  for (const auto& row : f32_gemm_kernels()) {
    if (std::strcmp(row.name, name) == 0) return &row;
  }
  return nullptr;
}

}  // namespace sparsify::engine
