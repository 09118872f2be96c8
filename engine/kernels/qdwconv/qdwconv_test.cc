// Every int8 depthwise conv row this CPU allows, over edge shapes (odd and tiny H, W; stride 1, 2
// and 3; pad 0, 1 and asymmetric; kernels 3x3, 5x5, 1x3, dilation 2; channel counts off 16 and 64),
// quantization variants (per-tensor / per-channel, s8 / u8 weights, nonzero weight zero points,
// ReLU clamp, int32 output), 1 and 2 threads, batch 1 and 2; also the depthwise rows of the conv
// family's edge table (conv_cases.h: asymmetric strides and dilations).
// Tolerances: every row equals the scalar row and QConv2dU8S8 (the int8 GEMM path) bit for bit;
// against the double-requantizing oracle qconv2d_reference int32 is exact and u8 is within 1 LSB
// (float vs double requantization near .5 ties), on at most 1 in 1000 outputs.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/conv/conv_cases.h"
#include "engine/kernels/qdwconv/family.h"
#include "engine/kernels/qgemm/test_params.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

struct Case {
  std::size_t c, h, w, kh, kw, stride, dilation, pt, pl, pb, pr;
};

constexpr Case kCases[] = {
    {1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1},     {3, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1},    {17, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1},
    {17, 14, 14, 3, 3, 2, 1, 1, 1, 1, 1},  {5, 9, 33, 3, 3, 2, 1, 0, 1, 1, 0},   {65, 13, 11, 3, 3, 1, 1, 0, 0, 0, 0},
    {4, 23, 37, 5, 5, 1, 1, 2, 2, 2, 2},   {6, 16, 17, 5, 5, 2, 1, 2, 2, 2, 2},  {3, 8, 40, 3, 3, 1, 2, 2, 2, 2, 2},
    {7, 10, 19, 1, 3, 1, 1, 0, 1, 0, 1},   {2, 11, 29, 3, 3, 3, 1, 1, 1, 1, 1},  {32, 112, 112, 3, 3, 1, 1, 1, 1, 1, 1},
    {96, 112, 112, 3, 3, 2, 1, 1, 1, 1, 1}, {3, 2, 2, 3, 3, 2, 1, 1, 1, 1, 1},    {9, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0},
};

using Variant = testing::QParamsVariant;
constexpr Variant kVariants[] = {
    {true, false, true, false, false}, {false, false, true, false, true}, {true, false, true, true, true},
    {false, true, true, true, false},  {true, false, false, false, false}, {true, true, false, true, false},
};

QGemmParams make_params(const Variant& v, std::size_t channels, std::mt19937& rng, std::vector<std::int32_t>* bias) {
  return testing::random_qparams(v, channels, rng, bias, 0.2f, 230);
}

struct Aligned {
  std::vector<unsigned char> bytes;
  void* get(std::size_t n) {
    bytes = std::vector<unsigned char>(n + 64, 0xCD);
    return bytes.data() + (64 - reinterpret_cast<std::uintptr_t>(bytes.data()) % 64) % 64;
  }
};

TEST_CASE("qdwconv: every row against the scalar row, the int8 GEMM path and the oracle") {
  auto isa_or = effective_isa();
  REQUIRE(isa_or.ok());
  const Isa isa = *isa_or;
  std::mt19937 rng(5);
  ThreadPool pool1(1), pool2(2);
  std::size_t total = 0, off_by_one = 0;
  std::vector<int> runs(qdwconv_kernels().size(), 0);
  int n_case = 0;
  // The table above, plus the depthwise rows of the conv family's edge table (asymmetric strides
  // and dilations, e.g. stride 2x1, dilation 2x1).
  std::vector<Conv2dShape> shapes;
  for (const Case& cs : kCases) {
    Conv2dShape s;
    s.in_channels = s.out_channels = s.groups = cs.c;
    s.in_h = cs.h;
    s.in_w = cs.w;
    s.kernel_h = cs.kh;
    s.kernel_w = cs.kw;
    s.stride_h = s.stride_w = cs.stride;
    s.dilation_h = s.dilation_w = cs.dilation;
    s.pad_top = cs.pt;
    s.pad_left = cs.pl;
    s.pad_bottom = cs.pb;
    s.pad_right = cs.pr;
    shapes.push_back(s);
  }
  for (const auto& c : conv_cases::kEdgeCases) {
    if (c.shape.groups == c.shape.in_channels && c.shape.groups == c.shape.out_channels) shapes.push_back(c.shape);
  }
  for (const Conv2dShape& shape : shapes) {
    for (std::size_t batch : {std::size_t(1), std::size_t(2)}) {
      ++n_case;
      const Variant& v = kVariants[n_case % std::size(kVariants)];
      ThreadPool& pool = n_case % 2 ? pool2 : pool1;
      Conv2dShape s = shape;
      s.batch = batch;
      const Case cs{s.in_channels, s.in_h, s.in_w, s.kernel_h, s.kernel_w, 0, 0, 0, 0, 0, 0};
      REQUIRE(check_conv2d_shape(s).ok());
      std::uniform_int_distribution<int> byte(0, 255);
      std::vector<std::uint8_t> x(batch * cs.c * cs.h * cs.w), w(cs.c * cs.kh * cs.kw);
      for (auto& e : x) e = static_cast<std::uint8_t>(byte(rng));
      for (auto& e : w) e = static_cast<std::uint8_t>(byte(rng));
      std::vector<std::int32_t> bias;
      const QGemmParams p = make_params(v, cs.c, rng, &bias);
      const std::size_t elem = v.output_u8 ? 1 : 4, out = batch * cs.c * s.out_h() * s.out_w();
      std::vector<std::uint8_t> want(out * elem), gemm(out * elem), scalar(out * elem);
      qconv2d_reference(s, x.data(), w.data(), p, want.data());
      {
        QConv2dU8S8 q;
        REQUIRE(q.prepare(s, w.data(), p, isa).ok());
        Aligned scratch;
        q.run(x.data(), gemm.data(), scratch.get(q.scratch_bytes(pool.threads())), pool);
      }
      for (const QDwConvKernel& row : qdwconv_kernels()) {
        if (row.isa > isa) continue;
        INFO(row.name << " " << s.describe() << " variant=" << n_case % std::size(kVariants)
                      << " threads=" << pool.threads());
        QDwConv2dU8S8 dw;
        const Status st = dw.prepare(s, w.data(), p, isa, &row);
        if (st.code() == StatusCode::kUnsupported && row.cover != QDwConvCover::kQDwAnyShape) continue;  // not its cover
        REQUIRE(st.ok());
        ++runs[static_cast<std::size_t>(&row - qdwconv_kernels().data())];
        std::vector<std::uint8_t> got(out * elem, 7);
        Aligned scratch;
        dw.run(x.data(), got.data(), scratch.get(dw.scratch_bytes(pool.threads())), pool);
        if (row.isa == Isa::kScalar) scalar = got;
        CHECK(std::memcmp(got.data(), gemm.data(), got.size()) == 0);
        std::size_t bad = 0;
        for (std::size_t i = 0; i < out; ++i) {
          long d;
          if (v.output_u8) {
            d = std::labs(long(got[i]) - long(want[i]));
          } else {
            std::int32_t a, b;
            std::memcpy(&a, &got[i * 4], 4);
            std::memcpy(&b, &want[i * 4], 4);
            d = std::labs(long(a) - long(b));
          }
          if (d == 1 && v.output_u8) ++off_by_one;
          else if (d != 0) ++bad;
        }
        total += out;
        CHECK(bad == 0);
      }
      CHECK(std::memcmp(scalar.data(), gemm.data(), scalar.size()) == 0);
    }
  }
  CHECK(off_by_one * 1000 <= total);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    INFO(qdwconv_kernels()[r].name);
    if (qdwconv_kernels()[r].isa <= isa) CHECK(runs[r] > 5);  // every row this CPU has ran many cases
  }
}

TEST_CASE("qdwconv: non-depthwise shapes are rejected with a reason") {
  Conv2dShape s;
  s.in_channels = 8;
  s.out_channels = 16;
  s.groups = 8;  // channel multiplier 2
  s.in_h = s.in_w = 5;
  s.kernel_h = s.kernel_w = 3;
  std::vector<std::int8_t> w(16 * 9, 1);
  QGemmParams p;
  QDwConv2dU8S8 dw;
  const Status st = dw.prepare(s, w.data(), p, Isa::kScalar);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(st.message().find("depthwise") != std::string::npos);
  s.out_channels = 8;
  s.groups = 1;  // dense conv
  CHECK(dw.prepare(s, w.data(), p, Isa::kScalar).code() == StatusCode::kUnsupported);
  s.groups = 8;
  CHECK(dw.prepare(s, w.data(), p, Isa::kScalar).ok());
}

TEST_CASE("qdwconv: the plan takes the first row that covers the layer, and says which") {
  Conv2dShape s;
  s.in_channels = s.out_channels = s.groups = 4;
  s.in_h = s.in_w = 9;
  s.kernel_h = s.kernel_w = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  std::vector<std::uint8_t> w(4 * 25, 200);  // as int8: -56; as uint8 with zero point 0: 200
  QGemmParams p;
  QDwConv2dU8S8 dw;
  REQUIRE(dw.prepare(s, w.data(), p, Isa::kAvx512Vnni).ok());
  CHECK(std::string(dw.name()) == "qu8_dwconv_3x16w__avx512vnni");
  p.weights_u8 = true;  // w - w_zp = 200 does not fit int8
  REQUIRE(dw.prepare(s, w.data(), p, Isa::kAvx512Vnni).ok());
  CHECK(std::string(dw.name()) == "qu8_dwconv_16w__avx512");
  const Status forced = dw.prepare(s, w.data(), p, Isa::kAvx512Vnni, find_qdwconv("qu8_dwconv_3x16w__avx512vnni"));
  CHECK(forced.code() == StatusCode::kUnsupported);
  CHECK(forced.message().find("not all int8") != std::string::npos);
  p.weights_u8 = false;
  s.kernel_h = s.kernel_w = 5;  // wider than 4 taps
  REQUIRE(dw.prepare(s, w.data(), p, Isa::kAvx512Vnni).ok());
  CHECK(std::string(dw.name()) == "qu8_dwconv_16w__avx512");
  REQUIRE(dw.prepare(s, w.data(), p, Isa::kAvx2).ok());
  CHECK(std::string(dw.name()) == "qu8_dwconv_8w__avx2");
}

}  // namespace
}  // namespace sparsify::engine
