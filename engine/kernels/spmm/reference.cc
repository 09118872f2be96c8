// Plain C++ fp32 SpMM: the oracle (dense W in double, zeros skipped) and the scalar table row.
#include <algorithm>

#include "engine/kernels/spmm/family.h"

namespace sparsify::engine {

void f32_spmm_reference(std::size_t m, std::size_t n, std::size_t k, const float* w, const float* b,
                        std::size_t ldb, const float* bias, const ActivationParams& act, float* c, std::size_t ldc) {
  std::vector<double> acc(n);
  for (std::size_t i = 0; i < m; ++i) {
    std::fill(acc.begin(), acc.end(), bias == nullptr ? 0.0 : double(bias[i]));
    for (std::size_t kk = 0; kk < k; ++kk) {
      const double wv = w[i * k + kk];
      if (wv == 0.0) continue;
      for (std::size_t j = 0; j < n; ++j) acc[j] += wv * double(b[kk * ldb + j]);
    }
    for (std::size_t j = 0; j < n; ++j) {
      c[i * ldc + j] = std::min(std::max(static_cast<float>(acc[j]), act.lo()), act.hi());
    }
  }
}

void f32_spmm_minmax_1x8__scalar(std::size_t rows, std::size_t nr, const std::uint32_t* row_nnz, const float* values,
                                 const std::int32_t* offsets, const float* b, float* c, std::size_t ldc,
                                 const F32SpmmParams& p) {
  const float* res = p.residual;
  for (std::size_t r = 0; r < rows; ++r, c += ldc) {
    float acc[8], acc1[8];
    const float b0 = p.bias == nullptr ? 0.0f : p.bias[r];
    for (std::size_t j = 0; j < nr; ++j) acc[j] = b0;
    for (std::size_t j = 0; j < nr; ++j) acc1[j] = res == nullptr ? 0.0f : res[r * ldc + j];
    const std::uint32_t nnz = row_nnz[r];
    for (std::uint32_t e = 0; e < nnz; ++e) {
      const float w = values[e];
      const float* row = b + offsets[e];
      for (std::size_t j = 0; j < nr; ++j) acc[j] += w * row[j];
    }
    values += nnz;
    offsets += nnz;
    for (std::size_t j = 0; j < nr; ++j) c[j] = std::min(std::max(acc[j] + acc1[j], p.min), p.max);
  }
}

}  // namespace sparsify::engine
