// Plain C++ int8 GEMM: the oracle (qgemm_reference, reference-op arithmetic) and the scalar row.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/qgemm/family.h"

namespace sparsify::engine {
namespace {

// The shared epilogue arithmetic of every row: int32 accumulator -> stored element.
inline void store_one(std::int32_t acc, std::size_t ch, std::size_t other, const QGemmUkernelParams& p, void* c,
                      std::size_t index) {
  std::int32_t v = acc + p.bias[ch];
  if (p.w_zero != nullptr) v -= p.w_zero[ch] * p.a_sums[other];
  if (p.flags & kQGemmOutputU8) {
    float f = static_cast<float>(v) * p.scale[ch];
    f = std::min(std::max(f, static_cast<float>(p.y_min - p.y_zero)), static_cast<float>(p.y_max - p.y_zero));
    static_cast<std::uint8_t*>(c)[index] = static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + p.y_zero);
  } else {
    static_cast<std::int32_t*>(c)[index] = v;
  }
}

template <int MR, int NR, bool kLeft>
void ukernel(std::size_t mr, std::size_t nr, std::size_t k4, const void* a_ptr, const void* b_ptr, void* c,
             std::size_t ldc, const QGemmUkernelParams& p) {
  std::int32_t acc[MR][NR] = {};
  for (std::size_t g = 0; g < k4; ++g) {
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NR; ++j) {
        std::int32_t s = 0;
        for (int t = 0; t < 4; ++t) {
          const std::size_t ia = (g * MR + r) * 4 + t, ib = (g * NR + j) * 4 + t;
          if (kLeft) s += std::int32_t(static_cast<const std::int8_t*>(a_ptr)[ia]) * std::int32_t(static_cast<const std::uint8_t*>(b_ptr)[ib]);
          else s += std::int32_t(static_cast<const std::uint8_t*>(a_ptr)[ia]) * std::int32_t(static_cast<const std::int8_t*>(b_ptr)[ib]);
        }
        acc[r][j] += s;
      }
    }
  }
  for (std::size_t r = 0; r < mr; ++r) {
    for (std::size_t j = 0; j < nr; ++j) store_one(acc[r][j], kLeft ? r : j, kLeft ? j : r, p, c, r * ldc + j);
  }
}

}  // namespace

void qu8s8_gemm_left_4x8c4__scalar(std::size_t mr, std::size_t nr, std::size_t k4, const void* a, const void* b,
                                   void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  ukernel<4, 8, true>(mr, nr, k4, a, b, c, ldc, p);
}
void qu8s8_gemm_right_4x8c4__scalar(std::size_t mr, std::size_t nr, std::size_t k4, const void* a, const void* b,
                                    void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  ukernel<4, 8, false>(mr, nr, k4, a, b, c, ldc, p);
}

void qu8_pack_a_c4__scalar(std::size_t mc, std::size_t k, const std::uint8_t* a, std::size_t lda, std::size_t mr,
                           std::uint8_t* packed) {
  const std::size_t k4 = ceil_div(k, 4);
  for (std::size_t m0 = 0; m0 < mc; m0 += mr, packed += k4 * 4 * mr) {
    for (std::size_t g = 0; g < k4; ++g)
      for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t t = 0; t < 4; ++t) {
          const std::size_t kk = 4 * g + t;
          packed[(g * mr + r) * 4 + t] = m0 + r < mc && kk < k ? a[(m0 + r) * lda + kk] : 0;
        }
  }
}

void qu8_pack_b_c4__scalar(std::size_t k, std::size_t nc, const std::uint8_t* b, std::size_t ldb, std::size_t nr,
                           std::uint8_t* packed) {
  const std::size_t k4 = ceil_div(k, 4);
  for (std::size_t n0 = 0; n0 < nc; n0 += nr, packed += k4 * 4 * nr) {
    for (std::size_t g = 0; g < k4; ++g)
      for (std::size_t j = 0; j < nr; ++j)
        for (std::size_t t = 0; t < 4; ++t) {
          const std::size_t kk = 4 * g + t;
          packed[(g * nr + j) * 4 + t] = n0 + j < nc && kk < k ? b[kk * ldb + n0 + j] : 0;
        }
  }
}

void qgemm_reference(std::size_t m, std::size_t n, std::size_t k, const std::uint8_t* a, std::size_t a_rs,
                     std::size_t a_cs, const void* w, std::size_t w_rs, std::size_t w_cs, bool channel_is_row,
                     const QGemmParams& p, void* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t ch = channel_is_row ? i : j;
      const double wz = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : ch];
      double acc = 0;
      for (std::size_t kk = 0; kk < k; ++kk) {
        const std::size_t wi = kk * w_rs + j * w_cs;
        const double wv = p.weights_u8 ? static_cast<const std::uint8_t*>(w)[wi] : static_cast<const std::int8_t*>(w)[wi];
        acc += (double(a[i * a_rs + kk * a_cs]) - p.a_zero_point) * (wv - wz);
      }
      if (p.bias != nullptr) acc += p.bias[ch];
      if (!p.output_u8) {
        static_cast<std::int32_t*>(c)[i * ldc + j] = static_cast<std::int32_t>(acc);
        continue;
      }
      const double scale = double(p.a_scale) * double(p.w_scales[p.w_scales.size() == 1 ? 0 : ch]) / double(p.y_scale);
      double v = std::nearbyint(acc * scale) + p.y_zero_point;
      v = std::min<double>(std::max<double>(v, p.y_min), p.y_max);
      static_cast<std::uint8_t*>(c)[i * ldc + j] = static_cast<std::uint8_t>(v);
    }
  }
}

}  // namespace sparsify::engine
