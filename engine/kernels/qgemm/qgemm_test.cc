// Every int8 GEMM row this CPU allows against qgemm_reference in both forms: edge shapes, per-tensor
// and per-channel scales and zero points, u8 and s8 weights, u8 and int32 output, 1-2 threads.
// Tolerance: int32 exact; u8 within 1 (float vs double requantization near .5), rarely.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/qgemm/family.h"
#include "engine/kernels/qgemm/test_params.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

Isa allowed_isa() {
  auto isa = effective_isa();
  REQUIRE(isa.ok());
  return *isa;
}

using Variant = testing::QParamsVariant;

QGemmParams make_params(const Variant& v, std::size_t channels, std::mt19937& rng, std::vector<std::int32_t>* bias) {
  return testing::random_qparams(v, channels, rng, bias, 0.1f, 255);
}

template <class T>
void compare(const std::vector<T>& got, const std::vector<T>& want, std::size_t* bad, std::size_t* off_by_one) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    const long d = std::labs(static_cast<long>(got[i]) - static_cast<long>(want[i]));
    if (d == 1 && sizeof(T) == 1) ++*off_by_one;
    else if (d != 0) ++*bad;
  }
}

TEST_CASE("qgemm: every row, both forms, edge shapes and quantization variants") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(11);
  ThreadPool pool1(1), pool2(2);
  const Variant variants[] = {
      {false, false, true, false, false}, {true, false, true, false, true},  {true, false, true, true, false},
      {false, true, true, true, false},   {false, false, false, false, false}, {true, true, false, true, false},
  };
  std::size_t total = 0, off_by_one = 0;
  int n_case = 0;
  for (const QGemmKernel& row : qgemm_kernels()) {
    if (row.isa > isa) continue;
    for (std::size_t m : {std::size_t(1), std::size_t(row.mr), 2 * std::size_t(row.mr) + 3}) {
      for (std::size_t n : {std::size_t(1), std::size_t(row.nr), 2 * std::size_t(row.nr) + 3, std::size_t(301)}) {
        for (std::size_t k : {std::size_t(1), std::size_t(3), std::size_t(4), std::size_t(65), std::size_t(300)}) {
          ++n_case;
          const Variant& v = variants[n_case % 6];
          ThreadPool& pool = n_case % 2 ? pool2 : pool1;
          std::uniform_int_distribution<int> byte(0, 255);
          std::vector<std::uint8_t> a(m * k), w(k * n);  // w bytes: s8 or u8 per variant
          for (auto& x : a) x = static_cast<std::uint8_t>(byte(rng));
          for (auto& x : w) x = static_cast<std::uint8_t>(byte(rng));
          INFO(row.name << " m=" << m << " n=" << n << " k=" << k << " variant=" << n_case % 6 << " threads="
                        << pool.threads());
          const std::size_t elem = v.output_u8 ? 1 : 4;
          // Constant left: C[m, n] = W[m, k] x B[k, n], channels = rows.
          {
            std::vector<std::uint8_t> wl(m * k), bl(k * n);
            for (auto& x : wl) x = static_cast<std::uint8_t>(byte(rng));
            for (auto& x : bl) x = static_cast<std::uint8_t>(byte(rng));
            std::vector<std::int32_t> bias;
            const QGemmParams p = make_params(v, m, rng, &bias);
            std::vector<std::uint8_t> want(m * n * elem), got(m * n * elem, 7);
            // The oracle multiplies u8 activations on the left, so compute C^T = B^T x W^T
            // (channels = columns of C^T) and transpose.
            std::vector<std::uint8_t> want_t(m * n * elem);
            qgemm_reference(n, m, k, bl.data(), 1, n, wl.data(), 1, k, false, p, want_t.data(), m);
            for (std::size_t i = 0; i < m; ++i)
              for (std::size_t j = 0; j < n; ++j)
                std::copy_n(&want_t[(j * m + i) * elem], elem, &want[(i * n + j) * elem]);
            QGemmU8S8ConstLeft g;
            REQUIRE(g.prepare(m, k, wl.data(), p, isa, &row).ok());
            std::vector<unsigned char> scratch(g.scratch_bytes(pool.threads()) + 64);
            void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
            g.run(n, bl.data(), n, got.data(), n, sp, pool);
            std::size_t bad = 0;
            if (v.output_u8) compare(got, want, &bad, &off_by_one);
            else {
              std::vector<std::int32_t> gi(m * n), wi(m * n);
              std::memcpy(gi.data(), got.data(), got.size());
              std::memcpy(wi.data(), want.data(), want.size());
              compare(gi, wi, &bad, &off_by_one);
            }
            total += m * n;
            CHECK(bad == 0);
          }
          // Constant right: C[m, n] = X[m, k] x W[k, n], W plain or transposed.
          for (bool transposed : {false, true}) {
            std::vector<std::int32_t> bias;
            const QGemmParams p = make_params(v, n, rng, &bias);
            std::vector<std::uint8_t> wt(k * n);
            for (std::size_t i = 0; i < k; ++i)
              for (std::size_t j = 0; j < n; ++j) wt[j * k + i] = w[i * n + j];
            std::vector<std::uint8_t> want(m * n * elem), got(m * n * elem, 7);
            qgemm_reference(m, n, k, a.data(), k, 1, w.data(), n, 1, false, p, want.data(), n);
            QGemmU8S8ConstRight g;
            REQUIRE(g.prepare(k, n, transposed ? wt.data() : w.data(), transposed, p, isa, &row).ok());
            std::vector<unsigned char> scratch(g.scratch_bytes(pool.threads()) + 64);
            void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
            g.run(m, a.data(), k, got.data(), n, sp, pool);
            std::size_t bad = 0;
            if (v.output_u8) compare(got, want, &bad, &off_by_one);
            else {
              std::vector<std::int32_t> gi(m * n), wi(m * n);
              std::memcpy(gi.data(), got.data(), got.size());
              std::memcpy(wi.data(), want.data(), want.size());
              compare(gi, wi, &bad, &off_by_one);
            }
            total += m * n;
            CHECK(bad == 0);
          }
        }
      }
    }
  }
  CHECK(n_case > 0);
  // Float requantization may differ from the double oracle by one step on near-ties only.
  CHECK(off_by_one * 1000 <= total);
}

TEST_CASE("qgemm: invalid quantization parameters are rejected") {
  std::vector<std::int8_t> w(12, 1);
  QGemmParams p;
  p.w_zero_points = {0, 0};  // 2 entries for 3 channels
  QGemmU8S8ConstLeft g;
  CHECK(g.prepare(3, 4, w.data(), p, Isa::kScalar).code() == StatusCode::kInvalidArgument);
  p.w_zero_points = {0};
  p.a_zero_point = 300;
  CHECK(g.prepare(3, 4, w.data(), p, Isa::kScalar).code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sparsify::engine
