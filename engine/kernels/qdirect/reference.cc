// The scalar row of the int8 direct conv table: plain loops over the unpadded input with the
// family's exact arithmetic (int32 accumulation, float requantization), any shape.
#include <algorithm>
#include <cmath>

#include "engine/kernels/qdirect/family.h"

namespace sparsify::engine {

void qu8_conv_direct__scalar(const ConvGeom& g, const QDirectConvParams& p, std::size_t m0, std::size_t m1,
                             std::size_t oy0, std::size_t oy1, const std::uint8_t* x, std::uint8_t* y) {
  const std::size_t c_in = p.channels;
  for (std::size_t m = m0; m < m1; ++m) {
    const float lo = static_cast<float>(p.y_min - p.y_zero), hi = static_cast<float>(p.y_max - p.y_zero);
    for (std::size_t oy = oy0; oy < oy1; ++oy) {
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        std::int32_t acc = p.bias[m];
        for (std::size_t c = 0; c < c_in; ++c) {
          for (std::size_t ki = 0; ki < g.kh; ++ki) {
            const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ki * g.dh) - static_cast<std::ptrdiff_t>(g.pt);
            const bool row_in = iy >= 0 && iy < static_cast<std::ptrdiff_t>(g.h);
            const std::int8_t* w = p.w4 + ((m * c_in + c) * g.kh + ki) * 4;
            for (std::size_t kj = 0; kj < g.kw; ++kj) {
              const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kj * g.dw) - static_cast<std::ptrdiff_t>(g.pl);
              const bool in = row_in && ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.w);
              const std::int32_t xv = in ? x[(c * g.h + static_cast<std::size_t>(iy)) * g.w + static_cast<std::size_t>(ix)] : p.pad;
              acc += xv * std::int32_t(w[kj]);
            }
          }
        }
        float f = static_cast<float>(acc) * p.scale[m];
        f = std::min(std::max(f, lo), hi);
        y[(m * g.oh + oy) * g.ow + ox] = static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + p.y_zero);
      }
    }
  }
}

}  // namespace sparsify::engine
