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
  if (nr % 32 != 0) {
    pack_b_c4(k, nc, b, ldb, nr, packed);
    return;
  }
  // Full panels, 32 columns at a time with ymm: 4 rows of 32 bytes -> 2 rounds of in-lane unpacks
  // give columns [0..3 | 16..19], [4..7 | 20..23], ...; vperm2i128 restores column order. The 32
  // columns j0.. of group g are the 128 contiguous bytes at g * nr * 4 + j0 * 4 of the panel.
  const std::size_t k4 = (k + 3) / 4, full = nc / nr * nr;
  const __m256i zero = _mm256_setzero_si256();
  for (std::size_t n0 = 0; n0 < full; n0 += nr, packed += k4 * 4 * nr) {
    for (std::size_t g = 0; g < k4; ++g) {
      const std::size_t rows = k - 4 * g < 4 ? k - 4 * g : 4;
      for (std::size_t j0 = 0; j0 < nr; j0 += 32) {
        const std::uint8_t* src = b + 4 * g * ldb + n0 + j0;
        auto row = [&](std::size_t t) {
          return t < rows ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + t * ldb)) : zero;
        };
        const __m256i r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3);
        const __m256i a01lo = _mm256_unpacklo_epi8(r0, r1), a01hi = _mm256_unpackhi_epi8(r0, r1);
        const __m256i a23lo = _mm256_unpacklo_epi8(r2, r3), a23hi = _mm256_unpackhi_epi8(r2, r3);
        const __m256i q0 = _mm256_unpacklo_epi16(a01lo, a23lo), q1 = _mm256_unpackhi_epi16(a01lo, a23lo);
        const __m256i q2 = _mm256_unpacklo_epi16(a01hi, a23hi), q3 = _mm256_unpackhi_epi16(a01hi, a23hi);
        __m256i* out = reinterpret_cast<__m256i*>(packed + (g * nr + j0) * 4);
        _mm256_storeu_si256(out + 0, _mm256_permute2x128_si256(q0, q1, 0x20));
        _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(q2, q3, 0x20));
        _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(q0, q1, 0x31));
        _mm256_storeu_si256(out + 3, _mm256_permute2x128_si256(q2, q3, 0x31));
      }
    }
  }
  if (full < nc) pack_b_c4(k, nc - full, b + full, ldb, nr, packed);
}

}  // namespace sparsify::engine
