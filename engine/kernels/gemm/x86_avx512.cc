// AVX-512 fp32 GEMM micro-kernels (MR x 16*NV register tiles, zmm accumulators) and packers.
//
// Per k step of an MR x 32 tile: NV zmm loads of the packed B row, MR broadcasts of the packed A
// column, MR*NV FMAs:
//     b[k*NR + 0..15] b[k*NR + 16..31]       <- 2 zmm loads
//     a[k*MR + r] (broadcast, r < MR)        <- embedded {1to16} broadcasts
//     acc[r][v] += a_r * b_v                 <- MR*NV zmm accumulators (registers)
// GCC 12 warns about _mm512_undefined_ps() inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/gemm/family.h"

namespace sparsify::engine {
namespace {

inline __mmask16 tail_mask(std::size_t lanes) {
  return lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1u);
}

template <int MR, int NV>
void ukernel(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b, float* c,
             std::size_t ldc, const F32GemmUkernelParams& p) {
  constexpr int NR = NV * 16;
  __m512 acc[MR][NV];
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) mask[v] = tail_mask(nr > std::size_t(v) * 16 ? nr - std::size_t(v) * 16 : 0);
  if (p.flags & kGemmAccumulate) {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      const float* cr = c + (std::size_t(r) < mr ? r : 0) * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_maskz_loadu_ps(mask[v], cr + v * 16);
    }
  } else if (p.flags & kGemmBiasPerRow) {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      const __m512 bv = _mm512_set1_ps(p.bias[std::size_t(r) < mr ? r : 0]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = bv;
    }
  } else if (p.flags & kGemmBiasPerCol) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(mask[v], p.bias + v * 16);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = bv[v];
  } else {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  }

#pragma GCC unroll 2
  for (std::size_t k = 0; k < kc; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + v * 16);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += NR;
  }

  if (p.flags & kGemmClamp) {
    const __m512 lo = _mm512_set1_ps(p.min), hi = _mm512_set1_ps(p.max);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_min_ps(_mm512_max_ps(acc[r][v], lo), hi);
  }
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r) {
    if (std::size_t(r) >= mr) break;
    float* cr = c + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(cr + v * 16, mask[v], acc[r][v]);
  }
}

#include "engine/kernels/gemm/pack_a_ymm.inl"

}  // namespace

void f32_gemm_minmax_8x32__avx512(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b,
                                  float* c, std::size_t ldc, const F32GemmUkernelParams& p) {
  ukernel<8, 2>(mr, nr, kc, a, b, c, ldc, p);
}

void f32_gemm_minmax_7x48__avx512(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b,
                                  float* c, std::size_t ldc, const F32GemmUkernelParams& p) {
  ukernel<7, 3>(mr, nr, kc, a, b, c, ldc, p);
}

void f32_gemm_minmax_16x16__avx512(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b,
                                   float* c, std::size_t ldc, const F32GemmUkernelParams& p) {
  ukernel<16, 1>(mr, nr, kc, a, b, c, ldc, p);
}

void f32_gemm_pack_a__avx512(std::size_t mc, std::size_t kc, const float* a, std::size_t lda, std::size_t mr,
                             float* packed) {
  pack_a_ymm(mc, kc, a, lda, mr, packed);
}

void f32_gemm_pack_b__avx512(std::size_t kc, std::size_t nc, const float* b, std::size_t ldb, std::size_t nr,
                             float* packed) {
  for (std::size_t n0 = 0; n0 < nc; n0 += nr) {
    const std::size_t cols = nc - n0 < nr ? nc - n0 : nr;
    for (std::size_t k = 0; k < kc; ++k) {
      const float* src = b + k * ldb + n0;
      float* dst = packed + k * nr;
      for (std::size_t c = 0; c < nr; c += 16) {
        const __mmask16 m = tail_mask(cols > c ? cols - c : 0);
        _mm512_store_ps(dst + c, _mm512_maskz_loadu_ps(m, src + c));
      }
    }
    packed += kc * nr;
  }
}

}  // namespace sparsify::engine
