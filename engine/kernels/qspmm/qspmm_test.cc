// Every int8 SpMM row this CPU allows (SPARSIFY_ISA ceiling) against the DENSE int8 rows of the
// same ISA class, which must agree bit for bit (same int32 accumulators, same epilogue), and
// against the double-precision oracles within the dense family's tolerance (u8 off by one near
// .5, rarely). Block-4 and unstructured sparsity 0 / 0.5 / 0.9 / 0.99 / 1.0, per-tensor and
// per-channel (non-zero) weight zero points, u8 and s8 weights, u8 and int32 output, threads 1/2.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/conv/family.h"
#include "engine/kernels/qgemm/family.h"
#include "engine/kernels/qspmm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

Isa allowed_isa() {
  auto isa = effective_isa();
  REQUIRE(isa.ok());
  return *isa;
}

struct Variant {
  bool per_channel, weights_u8, output_u8, nonzero_w_zero;
};
constexpr Variant kVariants[] = {{false, false, true, false}, {true, false, true, true}, {true, true, false, true},
                                 {false, true, true, false}, {true, false, false, false}};

QGemmParams make_params(const Variant& v, std::size_t channels, std::mt19937& rng, std::vector<std::int32_t>* bias) {
  QGemmParams p;
  std::uniform_int_distribution<int> zp(0, 255), szp(-20, 20), bd(-5000, 5000);
  p.a_zero_point = zp(rng);
  const std::size_t nc = v.per_channel ? channels : 1;
  p.w_zero_points.assign(nc, 0);
  p.w_scales.assign(nc, 0.0f);
  for (std::size_t i = 0; i < nc; ++i) {
    p.w_zero_points[i] = v.weights_u8 ? (v.nonzero_w_zero ? 100 + static_cast<int>(i % 50) : 128)
                                      : (v.nonzero_w_zero ? szp(rng) : 0);
    p.w_scales[i] = 0.002f + 0.001f * static_cast<float>(i % 7);
  }
  p.weights_u8 = v.weights_u8;
  bias->resize(channels);
  for (auto& b : *bias) b = bd(rng);
  p.bias = bias->data();
  p.output_u8 = v.output_u8;
  p.a_scale = 0.05f;
  p.y_scale = 0.1f;
  p.y_zero_point = zp(rng);
  return p;
}

// Weights [channels][k] (element (ch, kk) at ch*rs + kk*cs) equal to their zero point where
// pruned; the rest within +-100 of it (w - zp fits int8). Blocks: 4 consecutive kk per channel.
std::vector<std::uint8_t> make_weights(std::size_t channels, std::size_t k, std::size_t rs, std::size_t cs,
                                       const QGemmParams& p, double zeros, bool block4, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> d(-100, 100);
  std::vector<std::uint8_t> w(channels * k);
  for (std::size_t ch = 0; ch < channels; ++ch) {
    const int zw = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : ch];
    bool keep = true;
    for (std::size_t kk = 0; kk < k; ++kk) {
      if (!block4 || kk % 4 == 0) keep = u(rng) >= zeros;
      int v = keep ? zw + d(rng) : zw;
      v = p.weights_u8 ? std::min(255, std::max(0, v)) : std::min(127, std::max(-128, v));
      w[ch * rs + kk * cs] = static_cast<std::uint8_t>(p.weights_u8 ? v : static_cast<std::uint8_t>(static_cast<std::int8_t>(v)));
    }
  }
  return w;
}

std::vector<std::uint8_t> random_u8(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(d(rng));
  return v;
}

void* aligned(std::vector<unsigned char>& buf, std::size_t bytes) {
  buf.resize(bytes + 64);
  return buf.data() + (64 - reinterpret_cast<std::uintptr_t>(buf.data()) % 64) % 64;
}

// Same bytes; u8 output may differ from the double oracle by 1 near .5.
void check_oracle(const std::vector<std::uint8_t>& got, const std::vector<std::uint8_t>& want, bool u8) {
  std::size_t bad = 0;
  if (u8) {
    for (std::size_t i = 0; i < got.size(); ++i) bad += std::abs(int(got[i]) - int(want[i])) > 1;
  } else {
    bad = got == want ? 0 : 1;
  }
  CHECK(bad == 0);
}

const QGemmKernel& dense_for(const QSpmmKernel& row) { return select_qgemm(row.isa); }

constexpr double kSparsities[] = {0.0, 0.5, 0.9, 0.99, 1.0};

TEST_CASE("qspmm: every row, constant-left, bit-exact vs dense qgemm and within 1 of the oracle") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(11);
  for (const auto& row : qspmm_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t m : {std::size_t(1), std::size_t(3), std::size_t(19)})
      for (std::size_t k : {std::size_t(1), std::size_t(4), std::size_t(5), std::size_t(39)})
        for (std::size_t n : {std::size_t(1), std::size_t(9), std::size_t(row.nr), std::size_t(2 * row.nr + 3)})
          for (double zeros : kSparsities)
            for (const Variant& v : kVariants)
              for (int threads : {1, 2}) {
                const bool block4 = (m + k + n) % 2 == 0;
                INFO(row.name << " m=" << m << " k=" << k << " n=" << n << " zeros=" << zeros << " block4=" << block4
                              << " u8w=" << v.weights_u8 << " u8out=" << v.output_u8 << " threads=" << threads);
                std::vector<std::int32_t> bias;
                const QGemmParams p = make_params(v, m, rng, &bias);
                const auto w = make_weights(m, k, k, 1, p, zeros, block4, rng);
                const auto b = random_u8(k * n, rng);
                const std::size_t elem = v.output_u8 ? 1 : 4;
                QSpmmU8S8ConstLeft s;
                REQUIRE(s.prepare(m, k, w.data(), p, isa, n, &row).ok());
                QGemmU8S8ConstLeft d;
                REQUIRE(d.prepare(m, k, w.data(), p, isa, &dense_for(row)).ok());
                ThreadPool pool(threads);
                std::vector<unsigned char> s1, s2;
                std::vector<std::uint8_t> got(m * n * elem, 7), dense(m * n * elem, 9), want(m * n * elem);
                s.run(n, b.data(), n, got.data(), n, aligned(s1, s.scratch_bytes(threads)), pool);
                d.run(n, b.data(), n, dense.data(), n, aligned(s2, d.scratch_bytes(threads)), pool);
                CHECK(got == dense);
                // The oracle computes C^T = B^T x W^T (channels are its columns); transpose back.
                std::vector<std::uint8_t> want_t(m * n * elem);
                qgemm_reference(n, m, k, b.data(), 1, n, w.data(), 1, k, false, p, want_t.data(), m);
                for (std::size_t i = 0; i < m; ++i)
                  for (std::size_t j = 0; j < n; ++j)
                    std::memcpy(&want[(i * n + j) * elem], &want_t[(j * m + i) * elem], elem);
                check_oracle(got, want, v.output_u8);
              }
  }
}

TEST_CASE("qspmm: every row, constant-right (MatMul), transposed or not, bit-exact vs dense qgemm") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(12);
  for (const auto& row : qspmm_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t m : {std::size_t(1), std::size_t(7), std::size_t(2 * row.nr + 3)})
      for (std::size_t k : {std::size_t(1), std::size_t(6), std::size_t(36)})
        for (std::size_t n : {std::size_t(1), std::size_t(21), std::size_t(300)})
          for (double zeros : {0.0, 0.9, 1.0})
            for (bool wt : {false, true})
              for (const Variant& v : kVariants)
                for (int threads : {1, 2}) {
                  INFO(row.name << " m=" << m << " k=" << k << " n=" << n << " zeros=" << zeros << " wt=" << wt);
                  std::vector<std::int32_t> bias;
                  const QGemmParams p = make_params(v, n, rng, &bias);
                  // W [k, n] (channel = column) or [n, k] when transposed.
                  const auto w = wt ? make_weights(n, k, k, 1, p, zeros, true, rng) : make_weights(n, k, 1, n, p, zeros, true, rng);
                  const auto x = random_u8(m * k, rng);
                  const std::size_t elem = v.output_u8 ? 1 : 4;
                  QSpmmU8S8ConstRight s;
                  REQUIRE(s.prepare(k, n, w.data(), wt, p, isa, m, &row).ok());
                  QGemmU8S8ConstRight d;
                  REQUIRE(d.prepare(k, n, w.data(), wt, p, isa, &dense_for(row)).ok());
                  ThreadPool pool(threads);
                  std::vector<unsigned char> s1, s2;
                  std::vector<std::uint8_t> got(m * n * elem, 7), dense(m * n * elem, 9);
                  s.run(m, x.data(), k, got.data(), n, aligned(s1, s.scratch_bytes(threads)), pool);
                  d.run(m, x.data(), k, dense.data(), n, aligned(s2, d.scratch_bytes(threads)), pool);
                  CHECK(got == dense);
                }
  }
}

TEST_CASE("qspmm: constant-right BERT-like shapes with the default row choice (K-aware; whole tiles per thread)") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(15);
  struct Case {
    std::size_t m, k, n;
  };
  // m = 128 tokens: K 768 takes 1x64 (2 tiles), K 3072 1x32 (4 tiles): whole tiles per thread;
  // m = 100 (2 tiles of 64, the second short) and 150 (3 tiles: rows split); n past one row block.
  for (const Case c : {Case{128, 768, 40}, Case{128, 3072, 24}, Case{100, 768, 300}, Case{150, 512, 33}})
    for (const Variant& v : {kVariants[0], kVariants[2]})
      for (int threads : {1, 2}) {
        INFO("m=" << c.m << " k=" << c.k << " n=" << c.n << " u8out=" << v.output_u8 << " threads=" << threads);
        std::vector<std::int32_t> bias;
        const QGemmParams p = make_params(v, c.n, rng, &bias);
        const auto w = make_weights(c.n, c.k, c.k, 1, p, 0.9, true, rng);
        const auto x = random_u8(c.m * c.k, rng);
        const std::size_t elem = v.output_u8 ? 1 : 4;
        QSpmmU8S8ConstRight s;
        REQUIRE(s.prepare(c.k, c.n, w.data(), true, p, isa, c.m).ok());
        QGemmU8S8ConstRight d;
        REQUIRE(d.prepare(c.k, c.n, w.data(), true, p, isa).ok());
        ThreadPool pool(threads);
        std::vector<unsigned char> s1, s2;
        std::vector<std::uint8_t> got(c.m * c.n * elem, 7), dense(c.m * c.n * elem, 9);
        s.run(c.m, x.data(), c.k, got.data(), c.n, aligned(s1, s.scratch_bytes(threads)), pool);
        d.run(c.m, x.data(), c.k, dense.data(), c.n, aligned(s2, d.scratch_bytes(threads)), pool);
        CHECK(got == dense);
      }
}

TEST_CASE("qspmm: every row's u8 transpose and dequantizing transpose equal the plain ones (16x16 blocks, ragged edges)") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(14);
  for (const auto& row : qspmm_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t rows : {std::size_t(1), std::size_t(15), std::size_t(16), std::size_t(37), std::size_t(256)})
      for (std::size_t cols : {std::size_t(1), std::size_t(16), std::size_t(21), std::size_t(64)}) {
        INFO(row.name << " rows=" << rows << " cols=" << cols);
        const std::size_t lds = cols + 3, ldd = rows + 5;
        const auto src = random_u8(rows * lds, rng);
        std::vector<std::uint8_t> got(cols * ldd, 7), want(cols * ldd, 7);
        row.transpose_u8(rows, cols, src.data(), lds, got.data(), ldd);
        u8_transpose__scalar(rows, cols, src.data(), lds, want.data(), ldd);
        CHECK(got == want);
        // Dequantizing form, with and without bias (offset j0 = 3 into it): bit for bit.
        std::vector<float> bias(rows + 3);
        for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = 0.37f * static_cast<float>(i) - 5.1f;
        for (bool with_bias : {false, true}) {
          QDequantizeOut d;
          d.scale = 0.0731f;
          d.zero = 133;
          d.bias = with_bias ? bias.data() : nullptr;
          std::vector<float> fg(cols * ldd, 7.0f), fw(cols * ldd, 7.0f);
          row.transpose_dequant(rows, cols, src.data(), lds, d, 3, fg.data(), ldd);
          u8_transpose_dequant__scalar(rows, cols, src.data(), lds, d, 3, fw.data(), ldd);
          CHECK(std::memcmp(fg.data(), fw.data(), fg.size() * sizeof(float)) == 0);
        }
      }
  }
}

TEST_CASE("qspmm: sparse QConv2d bit-exact vs the dense QConv2d; block4 over input channels picks tap-major K") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(13);
  struct Case {
    std::size_t batch, c, h, w, m, kh, s, d, p;
  };
  const Case cases[] = {{1, 16, 7, 7, 8, 1, 1, 1, 0}, {2, 8, 9, 7, 5, 3, 1, 1, 1}, {1, 12, 10, 11, 19, 3, 2, 1, 1},
                        {1, 8, 9, 9, 4, 3, 1, 2, 2},  {1, 3, 8, 8, 6, 3, 1, 1, 1},
                        // stride 2 (the 16-bit pair path of the u8 im2col): odd and even widths, pads 0-2
                        {1, 8, 13, 14, 5, 3, 2, 1, 0}, {1, 8, 6, 5, 6, 3, 2, 1, 2}, {1, 8, 17, 9, 4, 1, 2, 1, 0},
                        // padded channel-blocked form (stride 1, C % 4 == 0, output rows >= 16)
                        {2, 8, 10, 18, 5, 3, 1, 1, 1}, {1, 16, 6, 70, 7, 3, 1, 1, 1}, {1, 12, 5, 20, 9, 5, 1, 1, 0},
                        // ... with stride 2 (parity-split columns): odd and even widths and pads, 1x1 too
                        {1, 8, 16, 29, 5, 3, 2, 1, 1}, {2, 12, 11, 30, 6, 3, 2, 1, 2}, {1, 8, 14, 17, 7, 1, 2, 1, 0},
                        {1, 8, 15, 16, 3, 5, 2, 1, 2}};
  for (const auto& row : qspmm_kernels()) {
    if (row.isa > isa) continue;
    for (const Case& c : cases)
      for (double zeros : {0.0, 0.9, 1.0})
        for (const Variant& v : kVariants)
          for (int threads : {1, 2}) {
            Conv2dShape s;
            s.batch = c.batch;
            s.in_channels = c.c;
            s.in_h = c.h;
            s.in_w = c.w;
            s.out_channels = c.m;
            s.kernel_h = s.kernel_w = c.kh;
            s.stride_h = s.stride_w = c.s;
            s.dilation_h = s.dilation_w = c.d;
            s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = c.p;
            INFO(row.name << " " << s.describe() << " zeros=" << zeros << " u8w=" << v.weights_u8);
            std::vector<std::int32_t> bias;
            const QGemmParams p = make_params(v, c.m, rng, &bias);
            // block4 as SparseML lays it out: 4 consecutive input channels at one tap, OIHW memory.
            const std::size_t taps = c.kh * c.kh, k = c.c * taps;
            std::vector<std::uint8_t> w(c.m * k);
            std::uniform_real_distribution<double> u(0, 1);
            std::uniform_int_distribution<int> dv(-100, 100);
            for (std::size_t o = 0; o < c.m; ++o) {
              const int zw = p.w_zero_points[p.w_zero_points.size() == 1 ? 0 : o];
              for (std::size_t t = 0; t < taps; ++t) {
                bool keep = true;
                for (std::size_t ci = 0; ci < c.c; ++ci) {
                  if (ci % 4 == 0) keep = u(rng) >= zeros;
                  int val = keep ? zw + dv(rng) : zw;
                  val = p.weights_u8 ? std::min(255, std::max(0, val)) : std::min(127, std::max(-128, val));
                  w[(o * c.c + ci) * taps + t] = static_cast<std::uint8_t>(val);
                }
              }
            }
            const auto x = random_u8(c.batch * c.c * c.h * c.w, rng);
            const std::size_t out = c.batch * c.m * s.out_h() * s.out_w() * (v.output_u8 ? 1 : 4);
            QSparseConv2dU8S8 sc;
            const Status st = sc.prepare(s, w.data(), p, isa, &row);
            REQUIRE(st.ok());
            if (taps > 1 && zeros == 0.9 && c.c % 4 == 0) CHECK(sc.tap_major());
            const bool pointwise = taps == 1 && c.s == 1 && c.p == 0;
            CHECK(sc.padded() == ((sc.tap_major() || (taps == 1 && !pointwise)) && c.c % 4 == 0 && c.s <= 2 &&
                                  c.d == 1 && s.out_w() >= QSparseConv2dU8S8::kMinPaddedRow));
            QConv2dU8S8 dc;
            REQUIRE(dc.prepare(s, w.data(), p, isa, &dense_for(row)).ok());
            ThreadPool pool(threads);
            std::vector<unsigned char> s1, s2;
            std::vector<std::uint8_t> got(out, 7), dense(out, 9), want(out);
            sc.run(x.data(), got.data(), aligned(s1, sc.scratch_bytes(threads)), pool);
            dc.run(x.data(), dense.data(), aligned(s2, dc.scratch_bytes(threads)), pool);
            CHECK(got == dense);
            qconv2d_reference(s, x.data(), w.data(), p, want.data());
            check_oracle(got, want, v.output_u8);
          }
  }
}

TEST_CASE("qspmm: a weight minus its zero point outside int8 makes the sparse path unsupported") {
  QGemmParams p;
  p.weights_u8 = true;
  p.w_zero_points = {0};
  const std::uint8_t w[4] = {200, 0, 0, 0};
  QSpmmU8S8ConstLeft s;
  CHECK(s.prepare(1, 4, w, p, Isa::kScalar, 8).code() == StatusCode::kUnsupported);
}

}  // namespace
}  // namespace sparsify::engine
