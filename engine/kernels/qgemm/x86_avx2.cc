// AVX2 u8 x s8 GEMM on the c4 layout, exact (no vpmaddubsw saturation): each dword of 4 bytes is
// split into its even and odd bytes widened to 16 bits (u8: and/shift; s8: shift pairs), and two
// vpmaddwd give a0*b0 + a2*b2 and a1*b1 + a3*b3 in 32 bits. 4 x 16 tile: 8 ymm accumulators.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/qgemm/family.h"

namespace sparsify::engine {
namespace {

#include "engine/kernels/qgemm/pack_c4.inl"

inline void widen_u8(__m256i x, __m256i* even, __m256i* odd) {
  *even = _mm256_and_si256(x, _mm256_set1_epi16(0x00FF));
  *odd = _mm256_srli_epi16(x, 8);
}
inline void widen_s8(__m256i x, __m256i* even, __m256i* odd) {
  *even = _mm256_srai_epi16(_mm256_slli_epi16(x, 8), 8);
  *odd = _mm256_srai_epi16(x, 8);
}

template <int MR, int NV, bool kLeft>
void ukernel(std::size_t mr, std::size_t nr, std::size_t k4, const void* a_ptr, const void* b_ptr, void* c,
             std::size_t ldc, const QGemmUkernelParams& p) {
  constexpr int NR = NV * 8;
  __m256i acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_si256();
  const std::int32_t* a = static_cast<const std::int32_t*>(a_ptr);
  const std::int32_t* b = static_cast<const std::int32_t*>(b_ptr);
  for (std::size_t g = 0; g < k4; ++g) {
    __m256i be[NV], bo[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + v * 8));
      if (kLeft) widen_u8(x, &be[v], &bo[v]);
      else widen_s8(x, &be[v], &bo[v]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      __m256i ae, ao;
      const __m256i x = _mm256_set1_epi32(a[r]);
      if (kLeft) widen_s8(x, &ae, &ao);
      else widen_u8(x, &ae, &ao);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_add_epi32(_mm256_madd_epi16(ae, be[v]), _mm256_madd_epi16(ao, bo[v])));
      }
    }
    a += MR;
    b += NR;
  }

  // Epilogue through a small buffer: exact same arithmetic as the scalar row.
  const bool u8 = (p.flags & kQGemmOutputU8) != 0;
  const float lo = static_cast<float>(p.y_min - p.y_zero), hi = static_cast<float>(p.y_max - p.y_zero);
  alignas(32) std::int32_t tmp[NR];
  for (std::size_t r = 0; r < mr; ++r) {
    for (int v = 0; v < NV; ++v) _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + v * 8), acc[r][v]);
    for (std::size_t j = 0; j < nr; ++j) {
      const std::size_t ch = kLeft ? r : j, other = kLeft ? j : r;
      std::int32_t val = tmp[j] + p.bias[ch];
      if (p.w_zero != nullptr) val -= p.w_zero[ch] * p.a_sums[other];
      if (u8) {
        const float f = std::min(std::max(static_cast<float>(val) * p.scale[ch], lo), hi);
        static_cast<std::uint8_t*>(c)[r * ldc + j] = static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + p.y_zero);
      } else {
        static_cast<std::int32_t*>(c)[r * ldc + j] = val;
      }
    }
  }
}

}  // namespace

void qu8s8_gemm_left_4x16c4__avx2(std::size_t mr, std::size_t nr, std::size_t k4, const void* a, const void* b,
                                  void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  ukernel<4, 2, true>(mr, nr, k4, a, b, c, ldc, p);
}
void qu8s8_gemm_right_4x16c4__avx2(std::size_t mr, std::size_t nr, std::size_t k4, const void* a, const void* b,
                                   void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  ukernel<4, 2, false>(mr, nr, k4, a, b, c, ldc, p);
}
void qu8_pack_a_c4__avx2(std::size_t mc, std::size_t k, const std::uint8_t* a, std::size_t lda, std::size_t mr,
                         std::uint8_t* packed) {
  pack_a_c4(mc, k, a, lda, mr, packed);
}
void qu8_pack_b_c4__avx2(std::size_t k, std::size_t nc, const std::uint8_t* b, std::size_t ldb, std::size_t nr,
                         std::uint8_t* packed) {
  pack_b_c4(k, nc, b, ldb, nr, packed);
}

}  // namespace sparsify::engine
