// Conv2dF32 on every GEMM / depthwise table row this CPU allows against f32_conv2d_reference, over
// the edge-case table (strides, pads, dilations, groups, depthwise, batch), epilogues, 1-2 threads.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/conv/conv_cases.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

const ActivationParams kActs[] = {ActivationParams::none(), ActivationParams::relu(), ActivationParams::relu6(),
                                  ActivationParams::clip(-0.25f, 0.5f)};

Isa allowed_isa() {
  auto isa = effective_isa();
  REQUIRE(isa.ok());
  return *isa;
}

struct Data {
  std::vector<float> x, w, bias, want;
};

Data make_data(const Conv2dShape& s, const ActivationParams& act, bool with_bias, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  Data data;
  data.x.resize(s.batch * s.in_channels * s.in_h * s.in_w);
  data.w.resize(s.out_channels * (s.in_channels / s.groups) * s.kernel_h * s.kernel_w);
  data.bias.resize(s.out_channels);
  for (float& v : data.x) v = d(rng);
  for (float& v : data.w) v = d(rng);
  for (float& v : data.bias) v = d(rng);
  data.want.resize(s.batch * s.out_channels * s.out_h() * s.out_w());
  f32_conv2d_reference(s, data.x.data(), data.w.data(), with_bias ? data.bias.data() : nullptr, act, data.want.data());
  return data;
}

// Runs a prepared conv and returns the number of outputs off by more than the tolerance.
std::size_t count_bad(const Conv2dF32& conv, const Data& data, ThreadPool& pool) {
  const Conv2dShape& s = conv.shape();
  std::vector<unsigned char> scratch(conv.scratch_bytes(pool.threads()) + kKernelAlignment);
  void* sp = scratch.data() + (kKernelAlignment - reinterpret_cast<std::uintptr_t>(scratch.data()) % kKernelAlignment) %
                                  kKernelAlignment;
  std::vector<float> got(data.want.size(), 1234.0f);
  conv.run(data.x.data(), got.data(), sp, pool);
  const float tol = 1e-5f * float(s.in_channels / s.groups * s.kernel_h * s.kernel_w) + 1e-5f;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - data.want[i]) <= tol)) ++bad;
  }
  return bad;
}

TEST_CASE("conv f32: every GEMM row, both GEMM orientations, over the edge-case table") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(3);
  ThreadPool pool1(1), pool2(2);
  int n = 0;
  for (const auto& c : conv_cases::kEdgeCases) {
    for (const F32GemmKernel& row : f32_gemm_kernels()) {
      if (row.isa > isa) continue;
      const bool transposable = c.shape.groups == 1 && c.shape.out_h() * c.shape.out_w() <= 256;
      for (int variant = 0; variant < (transposable ? 4 : 2); ++variant) {
        ThreadPool* pool = variant % 2 ? &pool2 : &pool1;
        ++n;
        const ActivationParams act = kActs[n % 4];
        const bool with_bias = n % 3 != 0;
        const Data data = make_data(c.shape, act, with_bias, rng);
        Conv2dF32::Choice choice;
        choice.gemm = &row;
        choice.force_path = true;
        choice.path = variant >= 2 ? Conv2dF32::Path::kGemmTransposed : Conv2dF32::Path::kGemmIm2col;
        Conv2dF32 conv;
        REQUIRE(conv.prepare(c.shape, data.w.data(), with_bias ? data.bias.data() : nullptr, act, isa, choice).ok());
        INFO(c.name << " " << conv.name() << " act=" << activation_name(act.kind) << " threads=" << pool->threads());
        CHECK(count_bad(conv, data, *pool) == 0);
      }
    }
  }
}

TEST_CASE("conv f32: every depthwise row over the depthwise cases") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(4);
  ThreadPool pool1(1), pool2(2);
  int n = 0;
  for (const auto& c : conv_cases::kEdgeCases) {
    const Conv2dShape& s = c.shape;
    if (!(s.groups > 1 && s.groups == s.in_channels && s.groups == s.out_channels)) continue;
    for (const F32DwConvKernel& row : f32_dwconv_kernels()) {
      if (row.isa > isa) continue;
      for (ThreadPool* pool : {&pool1, &pool2}) {
        ++n;
        const ActivationParams act = kActs[n % 4];
        const Data data = make_data(s, act, true, rng);
        Conv2dF32 conv;
        Conv2dF32::Choice choice;
        choice.dwconv = &row;
        REQUIRE(conv.prepare(s, data.w.data(), data.bias.data(), act, isa, choice).ok());
        CHECK(conv.path() == Conv2dF32::Path::kDepthwise);
        INFO(c.name << " " << conv.name() << " act=" << activation_name(act.kind) << " threads=" << pool->threads());
        CHECK(count_bad(conv, data, *pool) == 0);
      }
    }
  }
  CHECK(n > 0);
}

TEST_CASE("conv f32: default choice on a few real ResNet-50 layers") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(5);
  ThreadPool pool(2);
  for (const char* name : {"rn50_3x3s2_128to128_56", "rn50_3x3_512to512_7", "rn50_1x1_2048to512_7", "mbv2_dw_3x3s2_144_56"}) {
    for (const auto& c : conv_cases::kModelCases) {
      if (std::string(c.name) != name) continue;
      const Data data = make_data(c.shape, ActivationParams::relu(), true, rng);
      Conv2dF32 conv;
      REQUIRE(conv.prepare(c.shape, data.w.data(), data.bias.data(), ActivationParams::relu(), isa).ok());
      INFO(c.name << " " << conv.name());
      CHECK(count_bad(conv, data, pool) == 0);
    }
  }
}

TEST_CASE("qconv u8 x s8: every int8 row over the edge-case table, quantization variants") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(9);
  ThreadPool pool1(1), pool2(2);
  std::uniform_int_distribution<int> byte(0, 255), small(-10, 10), bd(-3000, 3000);
  std::size_t total = 0, off_by_one = 0;
  int n = 0;
  for (const auto& c : conv_cases::kEdgeCases) {
    const Conv2dShape& s = c.shape;
    for (const QGemmKernel& row : qgemm_kernels()) {
      if (row.isa > isa) continue;
      ++n;
      ThreadPool& pool = n % 2 ? pool2 : pool1;
      QGemmParams p;
      p.a_zero_point = byte(rng);
      p.weights_u8 = n % 5 == 0;
      p.output_u8 = n % 4 != 0;
      const bool per_channel = n % 3 != 0;
      const std::size_t nch = per_channel ? s.out_channels : 1;
      p.w_zero_points.assign(nch, 0);
      p.w_scales.assign(nch, 0.01f);
      for (std::size_t i = 0; i < nch; ++i) {
        p.w_zero_points[i] = p.weights_u8 ? byte(rng) : (n % 2 ? small(rng) : 0);
        p.w_scales[i] = 0.004f + 0.001f * float(i % 5);
      }
      std::vector<std::int32_t> bias(s.out_channels);
      for (auto& v : bias) v = bd(rng);
      p.bias = bias.data();
      p.a_scale = 0.05f;
      p.y_scale = 0.2f;
      p.y_zero_point = byte(rng);
      std::vector<std::uint8_t> x(s.batch * s.in_channels * s.in_h * s.in_w);
      std::vector<std::uint8_t> w(s.out_channels * s.in_channels / s.groups * s.kernel_h * s.kernel_w);
      for (auto& v : x) v = static_cast<std::uint8_t>(byte(rng));
      for (auto& v : w) v = static_cast<std::uint8_t>(byte(rng));
      const std::size_t outs = s.batch * s.out_channels * s.out_h() * s.out_w(), elem = p.output_u8 ? 1 : 4;
      std::vector<std::uint8_t> want(outs * elem), got(outs * elem, 3);
      qconv2d_reference(s, x.data(), w.data(), p, want.data());
      QConv2dU8S8 conv;
      REQUIRE(conv.prepare(s, w.data(), p, isa, &row).ok());
      std::vector<unsigned char> scratch(conv.scratch_bytes(pool.threads()) + kKernelAlignment);
      void* sp = scratch.data() + (kKernelAlignment - reinterpret_cast<std::uintptr_t>(scratch.data()) % kKernelAlignment) %
                                      kKernelAlignment;
      conv.run(x.data(), got.data(), sp, pool);
      INFO(c.name << " " << conv.name() << " u8_out=" << p.output_u8 << " u8_w=" << p.weights_u8
                  << " per_channel=" << per_channel << " threads=" << pool.threads());
      std::size_t bad = 0;
      for (std::size_t i = 0; i < outs; ++i) {
        if (p.output_u8) {
          const int d = std::abs(int(got[i]) - int(want[i]));
          if (d == 1) ++off_by_one;
          else if (d != 0) ++bad;
        } else {
          std::int32_t a, b;
          std::memcpy(&a, &got[i * 4], 4);
          std::memcpy(&b, &want[i * 4], 4);
          if (a != b) ++bad;
        }
      }
      total += outs;
      CHECK(bad == 0);
    }
  }
  CHECK(off_by_one * 1000 <= total);
}

TEST_CASE("conv f32: bad shapes are rejected with the shape in the message") {
  Conv2dShape s{1, 6, 5, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 4};  // 6 channels, 4 groups
  std::vector<float> w(64, 0.0f);
  Conv2dF32 conv;
  Status st = conv.prepare(s, w.data(), nullptr, ActivationParams::none(), Isa::kScalar);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message().find("1x6x5x5") != std::string::npos);
  s = Conv2dShape{1, 2, 2, 2, 2, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1};  // kernel larger than input
  CHECK(conv.prepare(s, w.data(), nullptr, ActivationParams::none(), Isa::kScalar).code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sparsify::engine
