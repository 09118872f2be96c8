// Test-only: random QGemmParams for the int8 kernel families' tests (qgemm, qdwconv), so that each
// test draws its quantization parameters the same way. Not part of the engine library.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "engine/kernels/qgemm/family.h"

namespace sparsify::engine::testing {

/// Which quantization features a test case exercises.
struct QParamsVariant {
  bool per_channel, weights_u8, output_u8, nonzero_w_zero, relu;
};

/// Zero points, scales and an int32 bias (stored in *bias) for `channels` output channels.
/// y_scale = y_scale_base + 0.05 * (channels % 3); a ReLU variant clamps to [y_zero_point, relu_max].
inline QGemmParams random_qparams(const QParamsVariant& v, std::size_t channels, std::mt19937& rng,
                                  std::vector<std::int32_t>* bias, float y_scale_base, int relu_max) {
  QGemmParams p;
  std::uniform_int_distribution<int> zp(0, 255), szp(-20, 20), bd(-5000, 5000);
  p.a_zero_point = zp(rng);
  const std::size_t nc = v.per_channel ? channels : 1;
  p.w_zero_points.assign(nc, 0);
  p.w_scales.assign(nc, 0.0f);
  for (std::size_t i = 0; i < nc; ++i) {
    p.w_zero_points[i] = v.weights_u8 ? (v.nonzero_w_zero ? zp(rng) : 128) : (v.nonzero_w_zero ? szp(rng) : 0);
    p.w_scales[i] = 0.002f + 0.001f * static_cast<float>(i % 7);
  }
  p.weights_u8 = v.weights_u8;
  bias->resize(channels);
  for (auto& b : *bias) b = bd(rng);
  p.bias = bias->data();
  p.output_u8 = v.output_u8;
  p.a_scale = 0.05f;
  p.y_scale = y_scale_base + 0.05f * static_cast<float>(channels % 3);
  p.y_zero_point = v.relu ? 100 : zp(rng);
  p.y_min = v.relu ? p.y_zero_point : 0;
  p.y_max = v.relu ? relu_max : 255;
  return p;
}

}  // namespace sparsify::engine::testing
