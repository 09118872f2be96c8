// Every fp32 SpMM row this CPU allows (SPARSIFY_ISA ceiling) against the plain-loop oracles, in
// both orientations and as a sparse Conv2d: edge shapes (M = 1, 3, 2*tile+3; K = 1, 4, 5; N odd,
// = NR, 2*NR+3), sparsities 0 / 0.5 / 0.9 / 0.99 / 1.0 (all-zero rows), threads 1 and 2; the conv
// also with a fused residual (added before the clamp).
// Tolerance: 1e-4 relative to the sum of |terms| (float accumulation order differs).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/gemm/family.h"
#include "engine/kernels/spmm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

Isa allowed_isa() {
  auto isa = effective_isa();
  REQUIRE(isa.ok());
  return *isa;
}

std::vector<float> sparse_weights(std::size_t n, double zeros, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1), u(0, 1);
  std::vector<float> w(n);
  for (float& v : w) v = u(rng) < zeros ? 0.0f : d(rng);
  return w;
}

std::vector<float> random(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, double scale) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) bad += !(std::fabs(double(got[i]) - want[i]) <= 1e-4 * scale);
  CHECK(bad == 0);
}

constexpr double kSparsities[] = {0.0, 0.5, 0.9, 0.99, 1.0};

TEST_CASE("spmm: every row, constant-left, edge shapes and sparsities") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(7);
  for (const auto& row : f32_spmm_kernels()) {
    if (row.isa > isa) continue;
    const std::size_t nr = row.nr;
    for (std::size_t m : {std::size_t(1), std::size_t(3), std::size_t(2 * 16 + 3)})
      for (std::size_t k : {std::size_t(1), std::size_t(4), std::size_t(5), std::size_t(37)})
        for (std::size_t n : {std::size_t(1), std::size_t(7), nr, 2 * nr + 3})
          for (double zeros : kSparsities)
            for (int threads : {1, 2}) {
              INFO(row.name << " m=" << m << " k=" << k << " n=" << n << " zeros=" << zeros << " threads=" << threads);
              const std::vector<float> w = sparse_weights(m * k, zeros, rng), b = random(k * n, rng),
                                       bias = random(m, rng);
              const ActivationParams act = (m + k) % 2 ? ActivationParams::relu() : ActivationParams::none();
              SpmmF32ConstLeft s;
              REQUIRE(s.prepare(m, k, w.data(), bias.data(), act, isa, n, /*ldb=*/n, &row).ok());
              std::vector<float> got(m * n, -7.0f), want(m * n);
              ThreadPool pool(threads);
              s.run(n, b.data(), got.data(), n, nullptr, pool);
              f32_spmm_reference(m, n, k, w.data(), b.data(), n, bias.data(), act, want.data(), n);
              check_close(got, want, double(k) + 1);
            }
  }
}

TEST_CASE("spmm: every row, constant-right (Gemm/MatMul), transposed or not, with bias") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(8);
  for (const auto& row : f32_spmm_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t m : {std::size_t(1), std::size_t(5), std::size_t(row.nr), std::size_t(2 * row.nr + 3)})
      for (std::size_t k : {std::size_t(1), std::size_t(5), std::size_t(33)})
        for (std::size_t n : {std::size_t(1), std::size_t(19), std::size_t(300)})
          for (double zeros : {0.0, 0.9, 1.0})
            for (bool wt : {false, true})
              for (int threads : {1, 2}) {
                INFO(row.name << " m=" << m << " k=" << k << " n=" << n << " zeros=" << zeros << " wt=" << wt);
                const std::vector<float> w = sparse_weights(k * n, zeros, rng), x = random(m * k, rng),
                                         bias = random(n, rng);
                SpmmF32ConstRight s;
                REQUIRE(s.prepare(k, n, w.data(), wt, bias.data(), ActivationParams::relu6(), isa, m, &row).ok());
                std::vector<unsigned char> scratch(s.scratch_bytes(threads) + 64);
                void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
                std::vector<float> got(m * n, -7.0f), want(m * n);
                ThreadPool pool(threads);
                s.run(m, x.data(), k, got.data(), n, sp, pool);
                f32_gemm_reference(m, n, k, x.data(), k, 1, w.data(), wt ? 1 : n, wt ? k : 1, bias.data(), false,
                                   ActivationParams::relu6(), want.data(), n);
                check_close(got, want, double(k) + 1);
              }
  }
}

TEST_CASE("spmm: sparse conv2d against the conv oracle (1x1 direct, im2col tiles, stride, pad, dilation)") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(9);
  struct Case {
    std::size_t batch, c, h, w, m, kh, kw, s, d, p;
  };
  const Case cases[] = {{1, 16, 9, 9, 8, 1, 1, 1, 1, 0},  {2, 5, 7, 6, 3, 3, 3, 1, 1, 1}, {1, 8, 11, 13, 17, 3, 3, 2, 1, 1},
                        {1, 4, 10, 10, 5, 3, 3, 1, 2, 2}, {1, 3, 9, 9, 4, 1, 1, 2, 1, 0}, {2, 7, 8, 8, 70, 5, 5, 1, 1, 2},
                        // padded direct (output rows >= 48): one segment, several, masked tails, 1x1 padded
                        {1, 6, 8, 50, 9, 3, 3, 1, 1, 1}, {2, 5, 6, 70, 7, 3, 3, 1, 1, 1}, {1, 4, 9, 60, 5, 5, 5, 1, 1, 2},
                        {1, 8, 5, 48, 3, 1, 1, 1, 1, 1},
                        // ... with stride 2 (parity-split rows): odd/even widths and pads, 7x7 stem-like, 1x1
                        {1, 3, 20, 101, 8, 7, 7, 2, 1, 3}, {2, 4, 10, 100, 5, 3, 3, 2, 1, 1}, {1, 6, 5, 98, 4, 1, 1, 2, 1, 0},
                        {1, 5, 7, 99, 6, 3, 3, 2, 1, 0}};
  for (const auto& row : f32_spmm_kernels()) {
    if (row.isa > isa) continue;
    for (const Case& c : cases)
      for (double zeros : kSparsities)
        for (int threads : {1, 2}) {
          Conv2dShape s;
          s.batch = c.batch;
          s.in_channels = c.c;
          s.in_h = c.h;
          s.in_w = c.w;
          s.out_channels = c.m;
          s.kernel_h = c.kh;
          s.kernel_w = c.kw;
          s.stride_h = s.stride_w = c.s;
          s.dilation_h = s.dilation_w = c.d;
          s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = c.p;
          INFO(row.name << " " << s.describe() << " zeros=" << zeros << " threads=" << threads);
          const std::vector<float> w = sparse_weights(c.m * c.c * c.kh * c.kw, zeros, rng),
                                   x = random(c.batch * c.c * c.h * c.w, rng), bias = random(c.m, rng);
          SparseConv2dF32 conv;
          REQUIRE(conv.prepare(s, w.data(), bias.data(), ActivationParams::relu(), isa, &row).ok());
          CHECK(conv.padded() == (c.s <= 2 && c.d == 1 && s.out_w() >= SparseConv2dF32::kMinPaddedRow && !conv.direct()));
          std::vector<unsigned char> scratch(conv.scratch_bytes(threads) + 64);
          void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
          const std::size_t out = c.batch * c.m * s.out_h() * s.out_w();
          std::vector<float> got(out, -7.0f), want(out);
          ThreadPool pool(threads);
          conv.run(x.data(), got.data(), sp, pool);
          f32_conv2d_reference(s, x.data(), w.data(), bias.data(), ActivationParams::relu(), want.data());
          check_close(got, want, double(c.c * c.kh * c.kw) + 1);
          // With a fused residual: relu(conv + bias + r), r added before the clamp.
          const std::vector<float> r = random(out, rng);
          std::vector<float> got_r(out, -7.0f), want_r(out);
          conv.run(x.data(), got_r.data(), sp, pool, r.data());
          f32_conv2d_reference(s, x.data(), w.data(), bias.data(), ActivationParams::none(), want_r.data());
          for (std::size_t i = 0; i < out; ++i) want_r[i] = std::max(want_r[i] + r[i], 0.0f);
          check_close(got_r, want_r, double(c.c * c.kh * c.kw) + 2);
        }
  }
}

TEST_CASE("spmm: grouped convs are rejected (they stay dense), stats count zeros and block-4 groups") {
  Conv2dShape s;
  s.in_channels = 4;
  s.in_h = s.in_w = 4;
  s.out_channels = 4;
  s.groups = 2;
  std::vector<float> w(8, 1.0f);
  SparseConv2dF32 conv;
  CHECK(conv.prepare(s, w.data(), nullptr, ActivationParams::none(), Isa::kScalar).code() == StatusCode::kUnsupported);
  const float m[2 * 6] = {0, 0, 0, 0, 1, 0, /**/ 1, 0, 0, 2, 0, 0};
  const SparsityStats st = f32_sparsity(2, 6, m);
  CHECK(st.nnz == 3);
  CHECK(st.blocks4 == 4);
  CHECK(st.nonempty_blocks4 == 2);
}

}  // namespace
}  // namespace sparsify::engine
