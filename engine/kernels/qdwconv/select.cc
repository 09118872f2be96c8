// The int8 depthwise conv table (an expansion of kernels.inc) and its selection.
#include <cstring>

#include "engine/kernels/qdwconv/family.h"

namespace sparsify::engine {

const std::vector<QDwConvKernel>& qdwconv_kernels() {
  static const std::vector<QDwConvKernel> kTable = {
#define SPARSIFY_QDWCONV(name, isa, cover) QDwConvKernel{#name, Isa::isa, QDwConvCover::cover, &name},
#include "engine/kernels/qdwconv/kernels.inc"
#undef SPARSIFY_QDWCONV
  };
  return kTable;
}

bool qdwconv_covers(const QDwConvKernel& row, const ConvGeom& g, bool taps_int8) {
  if (g.kh * g.kw > kQDwConvMaxTaps) return false;
  switch (row.cover) {
    case QDwConvCover::kQDwAnyShape:
      return true;
    case QDwConvCover::kQDwInt8Taps:
      return taps_int8 && g.kw <= 4 && g.kh <= 8 && g.dw == 1 && (g.sw == 1 || g.sw == 2);
  }
  return false;
}

const QDwConvKernel& select_qdwconv(Isa isa, const ConvGeom& g, bool taps_int8) {
  for (const auto& row : qdwconv_kernels()) {
    if (row.isa <= isa && qdwconv_covers(row, g, taps_int8)) return row;
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
