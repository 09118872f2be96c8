// AVX2+FMA fp32 GEMM micro-kernel (6 x 16: 12 ymm accumulators) and packers.
//
// Per k step: 2 ymm loads of the packed B row b[k*16 .. k*16+15], 6 broadcasts of a[k*6 + r],
// 12 FMAs into acc[r][v]. Column tails use vmaskmov.
#include <immintrin.h>

#include "engine/kernels/gemm/family.h"

namespace sparsify::engine {
namespace {

inline __m256i tail_mask8(std::size_t lanes) {
  const int n = lanes >= 8 ? 8 : static_cast<int>(lanes);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int MR, int NV>
void ukernel(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b, float* c,
             std::size_t ldc, const F32GemmUkernelParams& p) {
  constexpr int NR = NV * 8;
  __m256 acc[MR][NV];
  const bool full = nr == NR;
  __m256i mask[NV];
  for (int v = 0; v < NV; ++v) mask[v] = tail_mask8(nr > std::size_t(v) * 8 ? nr - std::size_t(v) * 8 : 0);
  if (p.flags & kGemmAccumulate) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const float* cr = c + (std::size_t(r) < mr ? r : 0) * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = full ? _mm256_loadu_ps(cr + v * 8) : _mm256_maskload_ps(cr + v * 8, mask[v]);
    }
  } else if (p.flags & kGemmBiasPerRow) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 bv = _mm256_set1_ps(p.bias[std::size_t(r) < mr ? r : 0]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = bv;
    }
  } else if (p.flags & kGemmBiasPerCol) {
    __m256 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_maskload_ps(p.bias + v * 8, mask[v]);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = bv[v];
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  }

#pragma GCC unroll 2
  for (std::size_t k = 0; k < kc; ++k) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + v * 8);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += NR;
  }

  if (p.flags & kGemmClamp) {
    const __m256 lo = _mm256_set1_ps(p.min), hi = _mm256_set1_ps(p.max);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_min_ps(_mm256_max_ps(acc[r][v], lo), hi);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (std::size_t(r) >= mr) break;
    float* cr = c + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (full) _mm256_storeu_ps(cr + v * 8, acc[r][v]);
      else _mm256_maskstore_ps(cr + v * 8, mask[v], acc[r][v]);
    }
  }
}

#include "engine/kernels/gemm/pack_a_ymm.inl"

}  // namespace

void f32_gemm_minmax_6x16__avx2(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b,
                                float* c, std::size_t ldc, const F32GemmUkernelParams& p) {
  ukernel<6, 2>(mr, nr, kc, a, b, c, ldc, p);
}

void f32_gemm_pack_a__avx2(std::size_t mc, std::size_t kc, const float* a, std::size_t lda, std::size_t mr,
                           float* packed) {
  pack_a_ymm(mc, kc, a, lda, mr, packed);
}

void f32_gemm_pack_b__avx2(std::size_t kc, std::size_t nc, const float* b, std::size_t ldb, std::size_t nr,
                           float* packed) {
  for (std::size_t n0 = 0; n0 < nc; n0 += nr) {
    const std::size_t cols = nc - n0 < nr ? nc - n0 : nr;
    for (std::size_t k = 0; k < kc; ++k) {
      const float* src = b + k * ldb + n0;
      float* dst = packed + k * nr;
      for (std::size_t c = 0; c < nr; c += 8) {
        const std::size_t lanes = cols > c ? cols - c : 0;
        _mm256_store_ps(dst + c, lanes >= 8 ? _mm256_loadu_ps(src + c) : _mm256_maskload_ps(src + c, tail_mask8(lanes)));
      }
    }
    packed += kc * nr;
  }
}

}  // namespace sparsify::engine
