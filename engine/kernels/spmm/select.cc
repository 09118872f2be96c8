// The fp32 SpMM table (an expansion of kernels.inc), its selection and sparsity measurement.
#include <cstring>

#include "engine/kernels/spmm/family.h"

namespace sparsify::engine {

const std::vector<F32SpmmKernel>& f32_spmm_kernels() {
  static const std::vector<F32SpmmKernel> kTable = {
#define SPARSIFY_F32_SPMM(name, isa, nr) F32SpmmKernel{#name, Isa::isa, nr, &name},
#include "engine/kernels/spmm/kernels.inc"
#undef SPARSIFY_F32_SPMM
  };
  return kTable;
}

const F32SpmmKernel& select_f32_spmm(Isa isa, std::size_t n, std::size_t k) {
  // K x NR floats: 640 KiB (an im2col tile stays in L2). Wider rows amortize the per-non-zero
  // overhead (broadcast, offset load) over more columns: on the ResNet-50 shapes, 1 thread,
  // 1x64 beats 1x16 by 15-25 % on the 14x14 and 7x7 1x1 convs and 1x32 beats 1x16 by 8-11 % on
  // their 3x3 convs, masked tails included.
  constexpr std::size_t kTileFloats = 160 * 1024;
  const auto& table = f32_spmm_kernels();
  Isa top = Isa::kScalar;
  for (const auto& row : table) {
    if (row.isa <= isa) {
      top = row.isa;
      break;
    }
  }
  const F32SpmmKernel* narrowest = nullptr;
  for (const auto& row : table) {
    if (row.isa != top) continue;
    narrowest = &row;
    const std::size_t padded = round_up(n == 0 ? 1 : n, row.nr);
    const bool fits = k * row.nr <= kTileFloats;
    // Up to a third of padding: the kernels mask the last tile (and halve its width when it can).
    if (fits && padded * 3 <= (n == 0 ? 1 : n) * 4) return row;
  }
  return narrowest != nullptr ? *narrowest : table.back();
}

const F32SpmmKernel* find_f32_spmm(const char* name) {
  for (const auto& row : f32_spmm_kernels()) {
    if (std::strcmp(row.name, name) == 0) return &row;
  }
  return nullptr;
}

}  // namespace sparsify::engine
