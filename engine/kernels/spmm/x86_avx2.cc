// AVX2 + FMA fp32 SpMM: one sparse row at a time, NR = 8 * NV columns of B per pass.
//
// Same scheme as x86_avx512.cc: per non-zero a vbroadcastss and NV loads + vfmadd on ymm, two
// accumulator sets alternating between non-zeros; partial tiles use vmaskmovps loads and stores
// (B past column nr is never read).
//
//   C[r, 0:NR] = clamp(bias[r] + sum_j values[j] * B[offsets[j] + 0:NR])
#include <immintrin.h>

#include "engine/kernels/spmm/family.h"

namespace sparsify::engine {
namespace {

template <int NV, bool kMasked>
void spmm(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
          const std::int32_t* offsets, const float* b, float* c, std::size_t ldc, const F32SpmmParams& p) {
  __m256i mask[NV];
  for (int v = 0; v < NV; ++v) {
    const int lanes = static_cast<int>(nr) - v * 8;
    mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  const __m256 vmin = _mm256_set1_ps(p.min), vmax = _mm256_set1_ps(p.max);
  const float* res = p.residual;
  for (std::size_t r = 0; r < rows; ++r, c += ldc) {
    __m256 acc0[NV], acc1[NV];
    const __m256 b0 = _mm256_set1_ps(p.bias == nullptr ? 0.0f : p.bias[r]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc0[v] = b0;
    if (res != nullptr) {  // the fused skip connection starts the second accumulator set
      const float* rr = res + r * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc1[v] = kMasked ? _mm256_maskload_ps(rr + 8 * v, mask[v]) : _mm256_loadu_ps(rr + 8 * v);
    } else {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc1[v] = _mm256_setzero_ps();
    }
    const std::uint32_t nnz = row_nnz[r];
    std::uint32_t e = 0;
    for (; e + 2 <= nnz; e += 2) {
      const __m256 w0 = _mm256_broadcast_ss(values + e), w1 = _mm256_broadcast_ss(values + e + 1);
      const float* p0 = b + offsets[e];
      const float* p1 = b + offsets[e + 1];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const __m256 x0 = kMasked ? _mm256_maskload_ps(p0 + 8 * v, mask[v]) : _mm256_loadu_ps(p0 + 8 * v);
        const __m256 x1 = kMasked ? _mm256_maskload_ps(p1 + 8 * v, mask[v]) : _mm256_loadu_ps(p1 + 8 * v);
        acc0[v] = _mm256_fmadd_ps(w0, x0, acc0[v]);
        acc1[v] = _mm256_fmadd_ps(w1, x1, acc1[v]);
      }
    }
    if (e < nnz) {
      const __m256 w0 = _mm256_broadcast_ss(values + e);
      const float* p0 = b + offsets[e];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const __m256 x0 = kMasked ? _mm256_maskload_ps(p0 + 8 * v, mask[v]) : _mm256_loadu_ps(p0 + 8 * v);
        acc0[v] = _mm256_fmadd_ps(w0, x0, acc0[v]);
      }
    }
    values += nnz;
    offsets += nnz;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __m256 y = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(acc0[v], acc1[v]), vmin), vmax);
      if (kMasked) _mm256_maskstore_ps(c + 8 * v, mask[v], y);
      else _mm256_storeu_ps(c + 8 * v, y);
    }
  }
}

}  // namespace

void f32_spmm_minmax_1x32__avx2(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
                                const std::int32_t* offsets, const float* b, float* c, std::size_t ldc,
                                const F32SpmmParams& p) {
  if (nr == 32) spmm<4, false>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
  else if (nr <= 16) spmm<2, true>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
  else spmm<4, true>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
}
void f32_spmm_minmax_1x16__avx2(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
                                const std::int32_t* offsets, const float* b, float* c, std::size_t ldc,
                                const F32SpmmParams& p) {
  if (nr == 16) spmm<2, false>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
  else spmm<2, true>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
}

}  // namespace sparsify::engine
