// AVX-512 VNNI int8 SpMM on bsr_1x4 weights: one sparse row at a time, NR = 16 * NV columns.
//
// Per block j: vpbroadcastd of the 4 weights, NV loads of the c4 tile row g_j (16 columns x 4
// bytes each), NV vpdpbusd (u8 tile first, s8 weights second). Blocks alternate between two
// accumulator sets to hide the vpdpbusd latency. Epilogue exactly as qgemm's VNNI row: + bias,
// then int32 store or float requantization (vcvtps2dq rounds half to even) and vpmovdb.
//
//   tile row g: [c0:t0 t1 t2 t3 | c1:t0..t3 | ... | c(NR-1):t0..t3]   (NR * 4 bytes)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "engine/kernels/qspmm/family.h"

namespace sparsify::engine {
namespace {

#include "engine/kernels/qspmm/transpose_x86.inc"

template <int NV>
void spmm(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks, const std::int32_t* weights,
          const std::int32_t* offsets, const std::uint8_t* b, void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) {
    const std::size_t col = std::size_t(v) * 16;
    const std::size_t lanes = nr > col ? nr - col : 0;
    mask[v] = lanes >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1u);
  }
  const bool u8 = (p.flags & kQGemmOutputU8) != 0;
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.y_min - p.y_zero));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.y_max - p.y_zero));
  const __m512i yz = _mm512_set1_epi32(p.y_zero);
  for (std::size_t r = 0; r < rows; ++r) {
    __m512i acc0[NV], acc1[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      acc0[v] = _mm512_set1_epi32(p.bias[r]);
      acc1[v] = _mm512_setzero_si512();
    }
    const std::uint32_t nb = row_blocks[r];
    std::uint32_t j = 0;
    for (; j + 2 <= nb; j += 2) {
      const __m512i w0 = _mm512_set1_epi32(weights[j]), w1 = _mm512_set1_epi32(weights[j + 1]);
      const std::uint8_t* p0 = b + offsets[j];
      const std::uint8_t* p1 = b + offsets[j + 1];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        acc0[v] = _mm512_dpbusd_epi32(acc0[v], _mm512_loadu_si512(p0 + 64 * v), w0);
        acc1[v] = _mm512_dpbusd_epi32(acc1[v], _mm512_loadu_si512(p1 + 64 * v), w1);
      }
    }
    if (j < nb) {
      const __m512i w0 = _mm512_set1_epi32(weights[j]);
      const std::uint8_t* p0 = b + offsets[j];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc0[v] = _mm512_dpbusd_epi32(acc0[v], _mm512_loadu_si512(p0 + 64 * v), w0);
    }
    weights += nb;
    offsets += nb;
    const __m512 scale = _mm512_set1_ps(u8 ? p.scale[r] : 0.0f);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (mask[v] == 0) continue;
      const __m512i val = _mm512_add_epi32(acc0[v], acc1[v]);
      if (u8) {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(val), scale);
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), yz);
        _mm512_mask_cvtepi32_storeu_epi8(static_cast<std::uint8_t*>(c) + r * ldc + 16 * v, mask[v], q);
      } else {
        _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(c) + r * ldc + 16 * v, mask[v], val);
      }
    }
  }
}

}  // namespace

void qu8s8_spmm_1x64c4__avx512vnni(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks,
                                   const std::int32_t* weights, const std::int32_t* offsets, const std::uint8_t* b,
                                   void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  if (nr <= 32) spmm<2>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
  else spmm<4>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
}
void qu8s8_spmm_1x32c4__avx512vnni(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks,
                                   const std::int32_t* weights, const std::int32_t* offsets, const std::uint8_t* b,
                                   void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  if (nr <= 16) spmm<1>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
  else spmm<2>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
}
void qu8s8_spmm_1x16c4__avx512vnni(std::size_t rows, std::size_t nr, const std::uint32_t* row_blocks,
                                   const std::int32_t* weights, const std::int32_t* offsets, const std::uint8_t* b,
                                   void* c, std::size_t ldc, const QGemmUkernelParams& p) {
  spmm<1>(rows, nr, row_blocks, weights, offsets, b, c, ldc, p);
}

void u8_transpose__avx512vnni(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                               std::uint8_t* dst, std::size_t ldd) {
  transpose_u8(rows, cols, src, lds, dst, ldd);
}

void u8_transpose_dequant__avx512vnni(std::size_t rows, std::size_t cols, const std::uint8_t* src, std::size_t lds,
                                      const QDequantizeOut& d, std::size_t j0, float* dst, std::size_t ldd) {
  transpose_dequant_u8(rows, cols, src, lds, d, j0, dst, ldd,
                       [](__m128i q, const QDequantizeOut& dq, const float* bias, float* y) {
                         const __m512i v = _mm512_sub_epi32(_mm512_cvtepu8_epi32(q), _mm512_set1_epi32(dq.zero));
                         __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(dq.scale));
                         if (bias != nullptr) f = _mm512_add_ps(f, _mm512_loadu_ps(bias));
                         _mm512_storeu_ps(y, f);
                       });
}

}  // namespace sparsify::engine
