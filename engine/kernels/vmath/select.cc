// The vector-math table (an expansion of kernels.inc) and the choice of a row for an ISA.
#include "engine/kernels/vmath/family.h"

namespace sparsify::engine {

const std::vector<F32VmathKernels>& f32_vmath_kernels() {
  static const std::vector<F32VmathKernels> kTable = {
#define SPARSIFY_F32_VMATH(s, isa)                                                                         \
  F32VmathKernels{#s, Isa::isa, "f32_softmax__" #s, &f32_softmax__##s, "f32_erf__" #s, &f32_erf__##s, \
                  "f32_gelu__" #s, &f32_gelu__##s, "f32_layer_norm__" #s, &f32_layer_norm__##s},
#include "engine/kernels/vmath/kernels.inc"
#undef SPARSIFY_F32_VMATH
  };
  return kTable;
}

const F32VmathKernels& select_f32_vmath(Isa isa) {
  for (const auto& row : f32_vmath_kernels()) {
    if (row.isa <= isa) return row;
  }
  return f32_vmath_kernels().back();
}

}  // namespace sparsify::engine
