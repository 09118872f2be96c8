// Every vector-math row on every ISA this CPU allows against the scalar reference row: lengths
// around the vector widths (tails), large and tiny magnitudes, -inf (masked attention logits), NaN.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/kernels/vmath/family.h"

namespace sparsify::engine {
namespace {

Isa allowed_isa() {
  auto isa = effective_isa();
  REQUIRE(isa.ok());
  return *isa;
}

const std::size_t kLengths[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 127, 128, 768, 1000};

std::vector<float> random_floats(std::size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Largest |got - want| / (abs_tol + rel_tol * |want|); <= 1 passes. NaN must match NaN.
double worst(const std::vector<float>& got, const std::vector<float>& want, double abs_tol, double rel_tol) {
  double w = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]) || std::isnan(got[i])) {
      if (std::isnan(want[i]) != std::isnan(got[i])) return 1e30;
      continue;
    }
    if (std::isinf(want[i]) || std::isinf(got[i])) {
      if (want[i] != got[i]) return 1e30;
      continue;
    }
    w = std::max(w, std::fabs(double(got[i]) - want[i]) / (abs_tol + rel_tol * std::fabs(double(want[i]))));
  }
  return w;
}

TEST_CASE("vmath: softmax rows against the reference") {
  const Isa isa = allowed_isa();
  const F32VmathKernels& ref = f32_vmath_kernels().back();
  std::mt19937 rng(3);
  for (const F32VmathKernels& row : f32_vmath_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t n : kLengths) {
      for (float scale : {1.0f, 30.0f}) {
        std::vector<float> x = random_floats(n, -scale, scale, rng);
        if (n > 4) x[n / 2] = -10000.0f;  // an additive attention mask
        if (n > 5) x[1] = -std::numeric_limits<float>::infinity();
        std::vector<float> want(n), got(n);
        ref.softmax(x.data(), want.data(), n);
        row.softmax(x.data(), got.data(), n);
        INFO(row.softmax_name << " n=" << n << " scale=" << scale);
        CHECK(worst(got, want, 1e-9, 2e-6) <= 1.0);
        row.softmax(x.data(), x.data(), n);  // in place
        CHECK(worst(x, want, 1e-9, 2e-6) <= 1.0);
      }
    }
  }
}

TEST_CASE("vmath: erf and gelu against std::erf") {
  const Isa isa = allowed_isa();
  const F32VmathKernels& ref = f32_vmath_kernels().back();
  std::mt19937 rng(5);
  for (const F32VmathKernels& row : f32_vmath_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t n : kLengths) {
      for (float scale : {0.01f, 1.0f, 6.0f}) {
        std::vector<float> x = random_floats(n, -scale, scale, rng);
        if (n > 3) x[2] = std::numeric_limits<float>::quiet_NaN();
        if (n > 4) x[3] = 100.0f;
        std::vector<float> want(n), got(n);
        ref.erf(x.data(), want.data(), n);
        row.erf(x.data(), got.data(), n);
        INFO(row.erf_name << " n=" << n << " scale=" << scale);
        CHECK(worst(got, want, 3e-7, 2e-6) <= 1.0);
        ref.gelu(x.data(), want.data(), n);
        row.gelu(x.data(), got.data(), n);
        INFO(row.gelu_name);  // 0.5 x (1 + erf) cancels for x << 0: erf's absolute error times |x| / 2
        CHECK(worst(got, want, 2e-6, 2e-6) <= 1.0);
      }
    }
  }
}

TEST_CASE("vmath: layer norm rows against the reference") {
  const Isa isa = allowed_isa();
  const F32VmathKernels& ref = f32_vmath_kernels().back();
  std::mt19937 rng(9);
  for (const F32VmathKernels& row : f32_vmath_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t n : kLengths) {
      for (float offset : {0.0f, 100.0f}) {  // a large mean: the two-pass variance must not cancel
        std::vector<float> x = random_floats(n, offset - 2.0f, offset + 2.0f, rng);
        const std::vector<float> scale = random_floats(n, 0.5f, 1.5f, rng), bias = random_floats(n, -1.0f, 1.0f, rng);
        for (bool with_bias : {true, false}) {
          std::vector<float> want(n), got(n);
          const float* bp = with_bias ? bias.data() : nullptr;
          ref.layer_norm(x.data(), want.data(), n, scale.data(), bp, 1e-12f);
          row.layer_norm(x.data(), got.data(), n, scale.data(), bp, 1e-12f);
          INFO(row.layer_norm_name << " n=" << n << " offset=" << offset << " bias=" << with_bias);
          CHECK(worst(got, want, 2e-5, 2e-5) <= 1.0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace sparsify::engine
