// AVX-512 VNNI u8 x s8 GEMM: 8 x 32 tiles of int32 accumulators fed by vpdpbusd.
//
// Per group of 4 k: 2 zmm loads of the packed B row (32 columns x 4 bytes), 8 dword broadcasts of
// the packed A column (4 bytes of one row), 16 vpdpbusd (u8 operand first: B in the constant-left
// form, A in the constant-right form). Epilogue: + bias - w_zp * a_sum, then int32 store or
// float requantization (vcvtps2dq rounds half to even) and vpmovdb.
// GCC 12 warns about _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/qgemm/family.h"

namespace sparsify::engine {
namespace {

#include "engine/kernels/qgemm/pack_c4.inl"

inline __mmask16 tail_mask(std::size_t lanes) {
  return lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1u);
}

template <int MR, int NV, bool kLeft>
void ukernel(std::size_t mr, std::size_t nr, std::size_t k4, const void* a_ptr, const void* b_ptr, void* c,
             std::size_t ldc, const QGemmUkernelParams& p) {
  constexpr int NR = NV * 16;
  __m512i acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_si512();
  const std::int32_t* a = static_cast<const std::int32_t*>(a_ptr);
  const std::int32_t* b = static_cast<const std::int32_t*>(b_ptr);
#pragma GCC unroll 2
  for (std::size_t g = 0; g < k4; ++g) {
    __m512i bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_si512(b + v * 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        acc[r][v] = kLeft ? _mm512_dpbusd_epi32(acc[r][v], bv[v], av) : _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
      }
    }
    a += MR;
    b += NR;
  }

  const bool u8 = (p.flags & kQGemmOutputU8) != 0;
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.y_min - p.y_zero));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.y_max - p.y_zero));
  const __m512i yz = _mm512_set1_epi32(p.y_zero);
  for (int r = 0; r < MR; ++r) {
    if (std::size_t(r) >= mr) break;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const std::size_t col = std::size_t(v) * 16;
      const __mmask16 m = tail_mask(nr > col ? nr - col : 0);
      if (m == 0) continue;
      __m512i val = acc[r][v];
      __m512 scale;
      if (kLeft) {
        val = _mm512_add_epi32(val, _mm512_set1_epi32(p.bias[r]));
        if (p.w_zero != nullptr) {
          val = _mm512_sub_epi32(val, _mm512_mullo_epi32(_mm512_set1_epi32(p.w_zero[r]), _mm512_maskz_loadu_epi32(m, p.a_sums + col)));
        }
        scale = _mm512_set1_ps(u8 ? p.scale[r] : 0.0f);
      } else {
        val = _mm512_add_epi32(val, _mm512_maskz_loadu_epi32(m, p.bias + col));
        if (p.w_zero != nullptr) {
          val = _mm512_sub_epi32(val, _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m, p.w_zero + col), _mm512_set1_epi32(p.a_sums[r])));
        }
        scale = u8 ? _mm512_maskz_loadu_ps(m, p.scale + col) : _mm512_setzero_ps();
      }
      if (u8) {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(val), scale);
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), yz);
        _mm512_mask_cvtepi32_storeu_epi8(static_cast<std::uint8_t*>(c) + r * ldc + col, m, q);
      } else {
        _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(c) + r * ldc + col, m, val);
      }
    }
  }
}

}  // namespace

void qu8s8_gemm_left_8x32c4__avx512vnni(std::size_t mr, std::size_t nr, std::size_t k4, const void* a, const void* b,
                                        void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  ukernel<8, 2, true>(mr, nr, k4, a, b, c, ldc, p);
}
void qu8s8_gemm_right_8x32c4__avx512vnni(std::size_t mr, std::size_t nr, std::size_t k4, const void* a, const void* b,
                                         void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  ukernel<8, 2, false>(mr, nr, k4, a, b, c, ldc, p);
}
void qu8_pack_a_c4__avx512vnni(std::size_t mc, std::size_t k, const std::uint8_t* a, std::size_t lda, std::size_t mr,
                               std::uint8_t* packed) {
  pack_a_c4(mc, k, a, lda, mr, packed);
}
void qu8_pack_b_c4__avx512vnni(std::size_t k, std::size_t nc, const std::uint8_t* b, std::size_t ldb, std::size_t nr,
                               std::uint8_t* packed) {
  pack_b_c4(k, nc, b, ldb, nr, packed);
}

}  // namespace sparsify::engine
