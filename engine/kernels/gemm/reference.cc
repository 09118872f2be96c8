// Plain C++ fp32 GEMM: the oracle (f32_gemm_reference) and the scalar table row with its packers.
#include <algorithm>

#include "engine/kernels/gemm/family.h"

namespace sparsify::engine {
namespace {

template <int MR, int NR>
void ukernel(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b, float* c,
             std::size_t ldc, const F32GemmUkernelParams& p) {
  float acc[MR][NR];
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < NR; ++j) {
      const bool in = std::size_t(r) < mr && std::size_t(j) < nr;
      if (p.flags & kGemmAccumulate) acc[r][j] = in ? c[r * ldc + j] : 0.0f;
      else if (p.flags & kGemmBiasPerRow) acc[r][j] = std::size_t(r) < mr ? p.bias[r] : 0.0f;
      else if (p.flags & kGemmBiasPerCol) acc[r][j] = std::size_t(j) < nr ? p.bias[j] : 0.0f;
      else acc[r][j] = 0.0f;
    }
  }
  for (std::size_t k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NR; ++j) acc[r][j] += a[r] * b[j];
    }
    a += MR;
    b += NR;
  }
  for (std::size_t r = 0; r < mr; ++r) {
    for (std::size_t j = 0; j < nr; ++j) {
      float v = acc[r][j];
      if (p.flags & kGemmClamp) v = std::min(std::max(v, p.min), p.max);
      c[r * ldc + j] = v;
    }
  }
}

}  // namespace

void f32_gemm_minmax_4x8__scalar(std::size_t mr, std::size_t nr, std::size_t kc, const float* a, const float* b,
                                 float* c, std::size_t ldc, const F32GemmUkernelParams& p) {
  ukernel<4, 8>(mr, nr, kc, a, b, c, ldc, p);
}

void f32_gemm_pack_a__scalar(std::size_t mc, std::size_t kc, const float* a, std::size_t lda, std::size_t mr,
                             float* packed) {
  for (std::size_t m0 = 0; m0 < mc; m0 += mr) {
    const std::size_t rows = std::min(mr, mc - m0);
    for (std::size_t k = 0; k < kc; ++k) {
      for (std::size_t r = 0; r < mr; ++r) packed[k * mr + r] = r < rows ? a[(m0 + r) * lda + k] : 0.0f;
    }
    packed += kc * mr;
  }
}

void f32_gemm_pack_b__scalar(std::size_t kc, std::size_t nc, const float* b, std::size_t ldb, std::size_t nr,
                             float* packed) {
  for (std::size_t n0 = 0; n0 < nc; n0 += nr) {
    const std::size_t cols = std::min(nr, nc - n0);
    for (std::size_t k = 0; k < kc; ++k) {
      for (std::size_t j = 0; j < nr; ++j) packed[k * nr + j] = j < cols ? b[k * ldb + n0 + j] : 0.0f;
    }
    packed += kc * nr;
  }
}

void f32_gemm_reference(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t a_rs,
                        std::size_t a_cs, const float* b, std::size_t b_rs, std::size_t b_cs, const float* bias,
                        bool bias_per_row, const ActivationParams& act, float* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double acc = bias == nullptr ? 0.0 : bias[bias_per_row ? i : j];
      for (std::size_t kk = 0; kk < k; ++kk) acc += double(a[i * a_rs + kk * a_cs]) * double(b[kk * b_rs + j * b_cs]);
      c[i * ldc + j] = std::min(std::max(static_cast<float>(acc), act.lo()), act.hi());
    }
  }
}

}  // namespace sparsify::engine
