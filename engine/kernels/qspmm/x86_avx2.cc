// AVX2 int8 SpMM on bsr_1x4 weights, exact like qgemm's AVX2 row (no vpmaddubsw saturation): each
// dword of the c4 tile is split into even and odd bytes widened to 16 bits, the 4 weights likewise,
// and two vpmaddwd give w0*b0 + w2*b2 and w1*b1 + w3*b3 in 32 bits. NR = 8 * NV columns; the
// epilogue runs through a small buffer with the scalar row's arithmetic.
//
//   tile row g: [c0:t0 t1 t2 t3 | c1:t0..t3 | ...]   C[r, c] += sum_t tile[g][c][t] * w_j[t]
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/qspmm/family.h"

namespace sparsify::engine {
namespace {

#include "engine/kernels/qspmm/transpose_x86.inc"

template <int NV>
void spmm(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks, const std::int32_t* weights,
          const std::int32_t* offsets, const std::uint8_t* b, void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  const bool u8 = (p.flags & kQGemmOutputU8) != 0;
  const __m256i lo_bytes = _mm256_set1_epi16(0x00FF);
  const float lo = static_cast<float>(p.y_min - p.y_zero), hi = static_cast<float>(p.y_max - p.y_zero);
  for (std::size_t r = 0; r < rows; ++r) {
    __m256i acc[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[v] = _mm256_setzero_si256();
    const std::uint32_t nb = row_blocks[r];
    for (std::uint32_t j = 0; j < nb; ++j) {
      const __m256i w = _mm256_set1_epi32(weights[j]);
      const __m256i we = _mm256_srai_epi16(_mm256_slli_epi16(w, 8), 8), wo = _mm256_srai_epi16(w, 8);
      const std::uint8_t* row = b + offsets[j];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * v));
        const __m256i xe = _mm256_and_si256(x, lo_bytes), xo = _mm256_srli_epi16(x, 8);
        acc[v] = _mm256_add_epi32(acc[v], _mm256_add_epi32(_mm256_madd_epi16(xe, we), _mm256_madd_epi16(xo, wo)));
      }
    }
    weights += nb;
    offsets += nb;
    alignas(32) std::int32_t buf[NV * 8];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm256_store_si256(reinterpret_cast<__m256i*>(buf + 8 * v), acc[v]);
    for (std::size_t col = 0; col < nr; ++col) {
      const std::int32_t val = buf[col] + p.bias[r];
      if (u8) {
        float f = static_cast<float>(val) * p.scale[r];
        f = std::min(std::max(f, lo), hi);
        static_cast<std::uint8_t*>(c)[r * ldc + col] =
            static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(f)) + p.y_zero);
      } else {
        static_cast<std::int32_t*>(c)[r * ldc + col] = val;
      }
    }
  }
}

}  // namespace

void qu8s8_spmm_1x32c4__avx2(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks,
                             const std::int32_t* weights, const std::int32_t* offsets, const std::uint8_t* b, void* c,
                             std::size_t ldc, const QGemmUkernelParams& p) {
  if (nr <= 16) spmm<2>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
  else spmm<4>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
}
void qu8s8_spmm_1x16c4__avx2(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks,
                             const std::int32_t* weights, const std::int32_t* offsets, const std::uint8_t* b, void* c,
                             std::size_t ldc, const QGemmUkernelParams& p) {
  spmm<2>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
}

void u8_transpose__avx2(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                         std::uint8_t* dst, std::size_t ldd) {
  transpose_u8(rows, cols, src, lds, dst, ldd);
}

void u8_transpose_dequant__avx2(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                                const QDequantizeOut& d, std::size_t j0, float* dst, std::size_t ldd) {
  transpose_dequant_u8(rows, cols, src, lds, d, j0, dst, ldd,
                       [](__m128i q, const QDequantizeOut& dq, const float* bias, float* y) {
                         const __m256i z = _mm256_set1_epi32(dq.zero);
                         const __m256 s = _mm256_set1_ps(dq.scale);
                         for (int h = 0; h < 2; ++h) {
                           const __m128i part = h == 0 ? q : _mm_srli_si128(q, 8);
                           const __m256i v = _mm256_sub_epi32(_mm256_cvtepu8_epi32(part), z);
                           __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), s);
                           if (bias != nullptr) f = _mm256_add_ps(f, _mm256_loadu_ps(bias + 8 * h));
                           _mm256_storeu_ps(y + 8 * h, f);
                         }
                       });
}

}  // namespace sparsify::engine
