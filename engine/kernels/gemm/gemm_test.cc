// Every fp32 GEMM table row on every ISA this CPU allows, against f32_gemm_reference, in both
// constant-left and constant-right forms, over edge shapes, epilogues and 1 or 2 threads.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/gemm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

Isa allowed_isa() {
  auto isa = effective_isa();
  REQUIRE(isa.ok());
  return *isa;
}

std::vector<float> random_floats(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t bytes) : storage(bytes + kKernelAlignment) {
    const auto addr = reinterpret_cast<std::uintptr_t>(storage.data());
    ptr = storage.data() + (kKernelAlignment - addr % kKernelAlignment) % kKernelAlignment;
  }
  std::vector<unsigned char> storage;
  unsigned char* ptr;
};

const ActivationParams kActs[] = {ActivationParams::none(), ActivationParams::relu(), ActivationParams::relu6(),
                                  ActivationParams::clip(-0.25f, 0.5f)};

void expect_close(const std::vector<float>& got, const std::vector<float>& want, std::size_t k, const char* what) {
  const float tol = 1e-5f * static_cast<float>(k) + 1e-5f;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= tol)) ++bad;
  }
  INFO(what);
  CHECK(bad == 0);
}

TEST_CASE("f32 gemm: every row, both forms, edge shapes") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(7);
  ThreadPool pool1(1), pool2(2);
  int cases = 0;
  for (const F32GemmKernel& row : f32_gemm_kernels()) {
    if (row.isa > isa) continue;
    const std::size_t mr = row.mr, nr = row.nr;
    const std::size_t kc = gemm_blocking(row, 100000).kc;
    for (std::size_t m : {std::size_t(1), mr - 1 == 0 ? 2 : mr - 1, mr, 2 * mr + 3}) {
      for (std::size_t n : {std::size_t(1), nr, 2 * nr + 3, std::size_t(405)}) {
        for (std::size_t k : {std::size_t(1), std::size_t(7), kc, kc + 1}) {
          ++cases;
          const ActivationParams act = kActs[cases % 4];
          const bool with_bias = cases % 3 != 0;
          ThreadPool& pool = cases % 2 ? pool2 : pool1;
          const auto a = random_floats(m * k, rng), b = random_floats(k * n, rng);
          const auto bias = random_floats(std::max(m, n), rng);
          INFO(row.name << " m=" << m << " n=" << n << " k=" << k << " act=" << activation_name(act.kind)
                        << " bias=" << with_bias << " threads=" << pool.threads());
          // Constant left: C = W[m,k] x B[k,n] + bias[m].
          {
            std::vector<float> want(m * n), got(m * n, 123.0f);
            f32_gemm_reference(m, n, k, a.data(), k, 1, b.data(), n, 1, with_bias ? bias.data() : nullptr, true, act,
                               want.data(), n);
            GemmF32ConstLeft g;
            REQUIRE(g.prepare(m, k, a.data(), with_bias ? bias.data() : nullptr, act, isa, n, &row).ok());
            AlignedBuffer scratch(g.scratch_bytes(pool.threads()));
            g.run(n, b.data(), n, got.data(), n, scratch.ptr, pool);
            expect_close(got, want, k, "const-left");
          }
          // Constant right: C = X[m,k] x W[k,n] + bias[n], W given plain and transposed.
          for (bool transposed : {false, true}) {
            std::vector<float> wt(k * n);
            for (std::size_t i = 0; i < k; ++i)
              for (std::size_t j = 0; j < n; ++j) wt[j * k + i] = b[i * n + j];
            std::vector<float> want(m * n), got(m * n, 123.0f);
            f32_gemm_reference(m, n, k, a.data(), k, 1, b.data(), n, 1, with_bias ? bias.data() : nullptr, false, act,
                               want.data(), n);
            GemmF32ConstRight g;
            REQUIRE(g.prepare(k, n, transposed ? wt.data() : b.data(), transposed, with_bias ? bias.data() : nullptr,
                              act, isa, m, &row)
                        .ok());
            AlignedBuffer scratch(g.scratch_bytes(pool.threads()));
            g.run(m, a.data(), k, got.data(), n, scratch.ptr, pool);
            expect_close(got, want, k, transposed ? "const-right W^T" : "const-right");
          }
        }
      }
    }
  }
  CHECK(cases > 0);
}

TEST_CASE("f32 batched gemm: every row, B plain and transposed, strided batches, edge shapes") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(17);
  ThreadPool pool1(1), pool2(2);
  int cases = 0;
  for (const F32GemmKernel& row : f32_gemm_kernels()) {
    if (row.isa > isa) continue;
    const std::size_t mr = row.mr, nr = row.nr;
    for (std::size_t m : {std::size_t(1), mr + 1, std::size_t(130)}) {
      for (std::size_t n : {std::size_t(1), nr + 3, std::size_t(1030)}) {
        for (std::size_t k : {std::size_t(1), std::size_t(64), std::size_t(300)}) {
          for (bool bt : {false, true}) {
            ++cases;
            ThreadPool& pool = cases % 2 ? pool2 : pool1;
            const std::size_t batches = 3, lda = k + 5, ldb = (bt ? k : n) + 3, ldc = n + 2;
            const std::size_t a_sz = m * lda, b_sz = (bt ? n : k) * ldb, c_sz = m * ldc;
            const auto a = random_floats(batches * a_sz, rng), b = random_floats(batches * b_sz, rng);
            std::vector<std::size_t> ao, bo, co;
            for (std::size_t i = 0; i < batches; ++i) {
              ao.push_back(i * a_sz);
              bo.push_back((batches - 1 - i) * b_sz);  // any order
              co.push_back(i * c_sz);
            }
            std::vector<float> want(batches * c_sz, 7.0f), got(batches * c_sz, 7.0f);
            for (std::size_t i = 0; i < batches; ++i) {
              f32_gemm_reference(m, n, k, a.data() + ao[i], lda, 1, b.data() + bo[i], bt ? 1 : ldb, bt ? ldb : 1, nullptr,
                                 false, ActivationParams::none(), want.data() + co[i], ldc);
            }
            GemmF32Batched g;
            REQUIRE(g.prepare(m, n, k, bt, isa, pool.threads(), batches, &row).ok());
            AlignedBuffer scratch(g.scratch_bytes(pool.threads()));
            g.run(batches, a.data(), ao.data(), lda, b.data(), bo.data(), ldb, got.data(), co.data(), ldc, scratch.ptr, pool);
            INFO(row.name << " m=" << m << " n=" << n << " k=" << k << " b_transposed=" << bt << " threads=" << pool.threads());
            expect_close(got, want, k, "batched");  // padding columns (ldc > n) must stay untouched: 7 == 7
          }
        }
      }
    }
  }
  CHECK(cases > 0);
}

TEST_CASE("split_grid: every tile exactly once, balanced to one unit") {
  for (std::size_t nb : {std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(13), std::size_t(98)}) {
    for (std::size_t mb : {std::size_t(1), std::size_t(3), std::size_t(16)}) {
      for (int parts : {1, 2, 3, 5}) {
        std::vector<int> hits(nb * mb, 0);
        std::size_t lo = nb * mb, hi = 0;
        for (int part = 0; part < parts; ++part) {
          GridRect rect[3];
          const int count = split_grid(nb, mb, part, parts, rect);
          REQUIRE(count <= 3);
          std::size_t units = 0;
          for (int r = 0; r < count; ++r) {
            for (std::size_t n = rect[r].n0; n < rect[r].n1; ++n)
              for (std::size_t m = rect[r].m0; m < rect[r].m1; ++m) {
                ++hits[n * mb + m];
                ++units;
              }
          }
          lo = std::min(lo, units);
          hi = std::max(hi, units);
        }
        for (int h : hits) CHECK(h == 1);
        CHECK(hi - lo <= 1);
      }
    }
  }
}

TEST_CASE("f32 gemm: selection picks the highest allowed ISA") {
  const Isa isa = allowed_isa();
  const F32GemmKernel& k = select_f32_gemm(isa, 64, 3136, 256);
  CHECK(k.isa <= isa);
  CHECK(select_f32_gemm(Isa::kScalar, 64, 64, 64).isa == Isa::kScalar);
  CHECK(find_f32_gemm("f32_gemm_minmax_4x8__scalar") != nullptr);
  CHECK(find_f32_gemm("nope") == nullptr);
}

TEST_CASE("f32 gemm: copies and moves of prepared objects keep working (aligned packed weights)") {
  const Isa isa = allowed_isa();
  std::mt19937 rng(5);
  const std::size_t m = 19, n = 45, k = 37;
  const auto a = random_floats(m * k, rng), b = random_floats(k * n, rng);
  std::vector<float> want(m * n);
  f32_gemm_reference(m, n, k, a.data(), k, 1, b.data(), n, 1, nullptr, true, ActivationParams::none(), want.data(), n);
  ThreadPool pool(2);
  std::vector<GemmF32ConstRight> rights(1);
  REQUIRE(rights[0].prepare(k, n, b.data(), false, nullptr, ActivationParams::none(), isa, m).ok());
  std::vector<GemmF32ConstLeft> lefts(1);
  REQUIRE(lefts[0].prepare(m, k, a.data(), nullptr, ActivationParams::none(), isa, n).ok());
  for (int i = 0; i < 5; ++i) {  // reallocations move and copy the elements
    rights.push_back(rights.front());
    lefts.push_back(lefts.front());
  }
  const GemmF32ConstRight copy_r = rights.back();
  const GemmF32ConstLeft copy_l = lefts.back();
  AlignedBuffer scratch(std::max(copy_r.scratch_bytes(2), copy_l.scratch_bytes(2)));
  std::vector<float> got(m * n);
  copy_r.run(m, a.data(), k, got.data(), n, scratch.ptr, pool);
  expect_close(got, want, k, "copied const-right");
  copy_l.run(n, b.data(), n, got.data(), n, scratch.ptr, pool);
  expect_close(got, want, k, "copied const-left");
}

TEST_CASE("f32 gemm: a row above the allowed ISA is rejected as unsupported") {
  const F32GemmKernel* avx512 = find_f32_gemm("f32_gemm_minmax_8x32__avx512");
  REQUIRE(avx512 != nullptr);
  std::vector<float> w(4, 1.0f);
  GemmF32ConstLeft g;
  const Status s = g.prepare(2, 2, w.data(), nullptr, ActivationParams::none(), Isa::kAvx2, 2, avx512);
  CHECK(s.code() == StatusCode::kUnsupported);
}

}  // namespace
}  // namespace sparsify::engine
