// The conv tables (expansions of kernels.inc).
#include "engine/kernels/conv/family.h"

namespace sparsify::engine {

const std::vector<F32Im2colKernel>& f32_im2col_kernels() {
  static const std::vector<F32Im2colKernel> kTable = {
#define SPARSIFY_F32_IM2COL(name, isa) F32Im2colKernel{#name, Isa::isa, &name},
#define SPARSIFY_F32_DWCONV(name, isa)
#include "engine/kernels/conv/kernels.inc"
#undef SPARSIFY_F32_IM2COL
#undef SPARSIFY_F32_DWCONV
  };
  return kTable;
}

const std::vector<F32DwConvKernel>& f32_dwconv_kernels() {
  static const std::vector<F32DwConvKernel> kTable = {
#define SPARSIFY_F32_IM2COL(name, isa)
#define SPARSIFY_F32_DWCONV(name, isa) F32DwConvKernel{#name, Isa::isa, &name},
#include "engine/kernels/conv/kernels.inc"
#undef SPARSIFY_F32_IM2COL
#undef SPARSIFY_F32_DWCONV
  };
  return kTable;
}

}  // namespace sparsify::engine
