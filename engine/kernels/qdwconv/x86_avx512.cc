// AVX-512 int8 depthwise conv plane: float accumulation over a phase-split float copy of the
// padded plane (x86_avx512_f32.inl), any kernel size, stride and dilation.
// GCC 12 warns about _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/kernels/qdwconv/family.h"

namespace sparsify::engine {
namespace {

#include "engine/kernels/qdwconv/x86_avx512_f32.inl"

}  // namespace

void qu8_dwconv_16w__avx512(const ConvGeom& g, const std::uint8_t* x, std::uint8_t pad, const float* taps,
                            const QDwConvParams& p, void* scratch, void* y) {
  plane_f32(g, x, pad, taps, p, scratch, y);
}

}  // namespace sparsify::engine
