// Every int8 direct conv row this CPU allows against the int8 GEMM path QConv2dU8S8 (bit for bit)
// and the double-requantizing oracle qconv2d_reference (within 1 LSB on near-ties, at most 1 in
// 1000 outputs): C 1-4, M 1-40, kernels 1x1 to 7x4 (kh x kw), stride 1 and 2 (and 2x1), pad 0, 1
// and asymmetric, dilation 2 along H, odd and tiny H, W; per-tensor and per-channel quantization,
// s8 and u8 weights, ReLU clamp; 1 and 2 threads, batch 1 and 2.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/qdirect/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

// batch, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups
const Conv2dShape kShapes[] = {
    {1, 3, 224, 224, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},  // MobileNetV2 stem
    {1, 3, 11, 13, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},    {1, 1, 5, 40, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
    {2, 4, 9, 33, 40, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 1},     {1, 2, 7, 7, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {1, 3, 17, 19, 8, 7, 4, 2, 2, 1, 1, 3, 1, 3, 2, 1},     {1, 3, 10, 21, 6, 3, 2, 2, 1, 2, 1, 2, 0, 2, 1, 1},
    {2, 3, 2, 2, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},       {1, 4, 6, 70, 9, 2, 4, 1, 2, 1, 1, 0, 2, 1, 1, 1},
};

struct Variant {
  bool per_channel, weights_u8, relu;
};
constexpr Variant kVariants[] = {{true, false, false}, {false, false, true}, {true, true, false}};

TEST_CASE("qdirect: every row against the int8 GEMM path and the oracle") {
  auto isa_or = effective_isa();
  REQUIRE(isa_or.ok());
  const Isa isa = *isa_or;
  std::mt19937 rng(9);
  ThreadPool pool1(1), pool2(2);
  std::size_t total = 0, off_by_one = 0;
  std::vector<int> runs(qdirect_kernels().size(), 0);
  int n_case = 0;
  for (const Conv2dShape& s : kShapes) {
    REQUIRE(check_conv2d_shape(s).ok());
    for (const Variant& v : kVariants) {
      ++n_case;
      ThreadPool& pool = n_case % 2 ? pool2 : pool1;
      std::uniform_int_distribution<int> byte(0, 255), zp(0, 255), bd(-5000, 5000);
      std::vector<std::uint8_t> x(s.batch * s.in_channels * s.in_h * s.in_w);
      std::vector<std::uint8_t> w(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w);
      for (auto& e : x) e = static_cast<std::uint8_t>(byte(rng));
      for (auto& e : w) e = static_cast<std::uint8_t>(v.weights_u8 ? 64 + byte(rng) / 2 : byte(rng));  // u8: w - 128 fits
      std::vector<std::int32_t> bias(s.out_channels);
      for (auto& b : bias) b = bd(rng);
      QGemmParams p;
      p.a_zero_point = zp(rng);
      const std::size_t nc = v.per_channel ? s.out_channels : 1;
      p.w_zero_points.assign(nc, v.weights_u8 ? 128 : 0);
      p.w_scales.assign(nc, 0.0f);
      for (std::size_t i = 0; i < nc; ++i) p.w_scales[i] = 0.001f + 0.0005f * static_cast<float>(i % 5);
      p.weights_u8 = v.weights_u8;
      p.bias = bias.data();
      p.a_scale = 0.05f;
      p.y_scale = 0.3f;
      p.y_zero_point = v.relu ? 90 : zp(rng);
      p.y_min = v.relu ? p.y_zero_point : 0;
      p.y_max = 255;
      const std::size_t out = s.batch * s.out_channels * s.out_h() * s.out_w();
      std::vector<std::uint8_t> want(out), gemm(out);
      qconv2d_reference(s, x.data(), w.data(), p, want.data());
      {
        QConv2dU8S8 q;
        REQUIRE(q.prepare(s, w.data(), p, isa).ok());
        std::vector<unsigned char> scratch(q.scratch_bytes(pool.threads()) + 64);
        void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
        q.run(x.data(), gemm.data(), sp, pool);
      }
      for (const QDirectConvKernel& row : qdirect_kernels()) {
        if (row.isa > isa) continue;
        INFO(row.name << " " << s.describe() << " variant=" << (&v - kVariants) << " threads=" << pool.threads());
        QDirectConv2dU8S8 conv;
        REQUIRE(conv.prepare(s, w.data(), p, isa, &row).ok());
        ++runs[static_cast<std::size_t>(&row - qdirect_kernels().data())];
        std::vector<std::uint8_t> got(out, 7);
        conv.run(x.data(), got.data(), pool);
        CHECK(std::memcmp(got.data(), gemm.data(), out) == 0);
        std::size_t bad = 0;
        for (std::size_t i = 0; i < out; ++i) {
          const long d = std::labs(long(got[i]) - long(want[i]));
          if (d == 1) ++off_by_one;
          else if (d != 0) ++bad;
        }
        total += out;
        CHECK(bad == 0);
      }
    }
  }
  CHECK(off_by_one * 1000 <= total);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    INFO(qdirect_kernels()[r].name);
    if (qdirect_kernels()[r].isa <= isa) CHECK(runs[r] > 5);
  }
}

TEST_CASE("qdirect: layers the vector row does not cover are rejected with a reason") {
  Conv2dShape s{1, 3, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<std::int8_t> w(8 * 3 * 9, 1);
  QGemmParams p;
  QDirectConv2dU8S8 conv;
  CHECK(conv.prepare(s, w.data(), p, Isa::kAvx512Vnni).ok());
  CHECK(std::string(conv.name()) == "qu8_conv_direct_16w__avx512vnni");
  const Status no_vnni = conv.prepare(s, w.data(), p, Isa::kAvx512);
  CHECK(no_vnni.code() == StatusCode::kUnsupported);
  CHECK(no_vnni.message().find("avx512vnni") != std::string::npos);
  s.in_channels = 16;  // too many input channels: the GEMM path's job
  std::vector<std::int8_t> w16(8 * 16 * 9, 1);
  CHECK(conv.prepare(s, w16.data(), p, Isa::kAvx512Vnni).code() == StatusCode::kUnsupported);
  s.in_channels = 3;
  s.groups = 3;
  s.out_channels = 3;
  CHECK(conv.prepare(s, w.data(), p, Isa::kAvx512Vnni).code() == StatusCode::kUnsupported);
  s.groups = 1;
  s.out_channels = 8;
  p.weights_u8 = true;  // w - 0 = 200 does not fit int8
  std::vector<std::uint8_t> wu(8 * 3 * 9, 200);
  CHECK(conv.prepare(s, wu.data(), p, Isa::kAvx512Vnni).code() == StatusCode::kUnsupported);
}

}  // namespace
}  // namespace sparsify::engine
