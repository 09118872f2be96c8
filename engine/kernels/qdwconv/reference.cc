// The scalar row of the int8 depthwise conv table: plain loops over the unpadded plane with the
// family's exact arithmetic (int32 accumulation, float requantization), the row SIMD rows match.
#include <algorithm>
#include <cmath>

#include "engine/kernels/qdwconv/family.h"

namespace sparsify::engine {

void qu8_dwconv__scalar(const ConvGeom& g, const std::uint8_t* x, std::uint8_t pad, const float* taps,
                        const QDwConvParams& p, void* /*scratch*/, void* y) {
  const float lo = static_cast<float>(p.y_min - p.y_zero), hi = static_cast<float>(p.y_max - p.y_zero);
  for (std::size_t oy = 0; oy < g.oh; ++oy) {
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      std::int32_t acc = 0;
      for (std::size_t ki = 0; ki < g.kh; ++ki) {
        const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
        const bool row_in = iy >= 0 && iy < static_cast<std::ptrdiff_t>(g.h);
        for (std::size_t kj = 0; kj < g.kw; ++kj) {
          const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
          const bool in = row_in && ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.w);
          const std::int32_t xv = in ? x[static_cast<std::size_t>(iy) * g.w + static_cast<std::size_t>(ix)] : pad;
          acc += xv * static_cast<std::int32_t>(taps[ki * g.kw + kj]);
        }
      }
      const std::int32_t v = acc + p.bias;
      const std::size_t o = oy * g.ow + ox;
      if (!p.output_u8) {
        static_cast<std::int32_t*>(y)[o] = v;
        continue;
      }
      float f = static_cast<float>(v) * p.scale;
      f = std::min(std::max(f, lo), hi);
      static_cast<std::uint8_t*>(y)[o] = static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + p.y_zero);
    }
  }
}

}  // namespace sparsify::engine
