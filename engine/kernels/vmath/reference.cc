// The scalar vector-math row, also the oracle of vmath_test: double accumulation, std::exp and
// std::erf, no vector code.
#include <cmath>
#include <limits>

#include "engine/kernels/vmath/family.h"

namespace sparsify::engine {

void f32_softmax__scalar(const float* x, float* y, std::size_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - m);
    s += y[i];
  }
  const float inv = static_cast<float>(1.0 / s);
  for (std::size_t i = 0; i < n; ++i) y[i] *= inv;
}

void f32_erf__scalar(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}

void f32_gelu__scalar(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752440)));
  }
}

void f32_layer_norm__scalar(const float* x, float* y, std::size_t n, const float* scale, const float* bias,
                            float eps) {
  double mean = 0;
  for (std::size_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0;
  for (std::size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  const double inv = 1.0 / std::sqrt(var + eps);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = (x[i] - mean) * inv * scale[i];
    y[i] = static_cast<float>(bias != nullptr ? v + bias[i] : v);
  }
}

}  // namespace sparsify::engine
