// AVX-512 fp32 SpMM: one sparse row at a time, NR = 16 * NV columns of B per pass.
//
// Per non-zero j: vbroadcastss values[j]; NV loads of B[offsets[j] + 16v]; NV vfmadd. Non-zeros
// alternate between two accumulator sets (acc0 for even j, acc1 for odd j) so consecutive FMAs do
// not wait on each other; the sets are summed before the clamp. Partial tiles (nr < NR) use
// masked loads and stores, so no byte of B past column nr is touched.
//
//   values  [ w0 w1 w2 ... ]      offsets [ k0*ldb k1*ldb ... ]      B tile (ldb apart)
//   C[r, 0:NR] = clamp(bias[r] + w0 * B[k0, 0:NR] + w1 * B[k1, 0:NR] + ...)
// GCC 12 warns about _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "engine/kernels/spmm/family.h"

namespace sparsify::engine {
namespace {

template <int NV, bool kMasked>
void spmm(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
          const std::int32_t* offsets, const float* b, float* c, std::size_t ldc, const F32SpmmParams& p) {
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) {
    const std::size_t col = std::size_t(v) * 16;
    const std::size_t lanes = nr > col ? nr - col : 0;
    mask[v] = lanes >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1u);
  }
  const __m512 vmin = _mm512_set1_ps(p.min), vmax = _mm512_set1_ps(p.max);
  const float* res = p.residual;
  for (std::size_t r = 0; r < rows; ++r, c += ldc) {
    __m512 acc0[NV], acc1[NV];
    const __m512 b0 = _mm512_set1_ps(p.bias == nullptr ? 0.0f : p.bias[r]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc0[v] = b0;
    if (res != nullptr) {  // the fused skip connection starts the second accumulator set
      const float* rr = res + r * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc1[v] = kMasked ? _mm512_maskz_loadu_ps(mask[v], rr + 16 * v) : _mm512_loadu_ps(rr + 16 * v);
    } else {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc1[v] = _mm512_setzero_ps();
    }
    const std::uint32_t nnz = row_nnz[r];
    std::uint32_t e = 0;
    for (; e + 2 <= nnz; e += 2) {
      const __m512 w0 = _mm512_set1_ps(values[e]), w1 = _mm512_set1_ps(values[e + 1]);
      const float* p0 = b + offsets[e];
      const float* p1 = b + offsets[e + 1];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const __m512 x0 = kMasked ? _mm512_maskz_loadu_ps(mask[v], p0 + 16 * v) : _mm512_loadu_ps(p0 + 16 * v);
        const __m512 x1 = kMasked ? _mm512_maskz_loadu_ps(mask[v], p1 + 16 * v) : _mm512_loadu_ps(p1 + 16 * v);
        acc0[v] = _mm512_fmadd_ps(w0, x0, acc0[v]);
        acc1[v] = _mm512_fmadd_ps(w1, x1, acc1[v]);
      }
    }
    if (e < nnz) {
      const __m512 w0 = _mm512_set1_ps(values[e]);
      const float* p0 = b + offsets[e];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const __m512 x0 = kMasked ? _mm512_maskz_loadu_ps(mask[v], p0 + 16 * v) : _mm512_loadu_ps(p0 + 16 * v);
        acc0[v] = _mm512_fmadd_ps(w0, x0, acc0[v]);
      }
    }
    values += nnz;
    offsets += nnz;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __m512 y = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc0[v], acc1[v]), vmin), vmax);
      if (kMasked) _mm512_mask_storeu_ps(c + 16 * v, mask[v], y);
      else _mm512_storeu_ps(c + 16 * v, y);
    }
  }
}

template <int NV>
void dispatch(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
              const std::int32_t* offsets, const float* b, float* c, std::size_t ldc, const F32SpmmParams& p) {
  if (nr == NV * 16) {
    spmm<NV, false>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
  } else if (NV > 1 && nr <= (NV / 2) * 16) {
    // Half-width tail (e.g. 20 of 64 columns): half the loads.
    spmm<(NV > 1 ? NV / 2 : 1), true>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
  } else {
    spmm<NV, true>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
  }
}

}  // namespace

void f32_spmm_minmax_1x64__avx512(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
                                  const std::int32_t* offsets, const float* b, float* c, std::size_t ldc,
                                  const F32SpmmParams& p) {
  dispatch<4>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
}
void f32_spmm_minmax_1x32__avx512(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
                                  const std::int32_t* offsets, const float* b, float* c, std::size_t ldc,
                                  const F32SpmmParams& p) {
  dispatch<2>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
}
void f32_spmm_minmax_1x16__avx512(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
                                  const std::int32_t* offsets, const float* b, float* c, std::size_t ldc,
                                  const F32SpmmParams& p) {
  dispatch<1>(rows, nr, row_nnz, values, offsets, b, c, ldc, p);
}

}  // namespace sparsify::engine
