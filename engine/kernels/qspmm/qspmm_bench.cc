// Google Benchmark for int8 SpMM against the dense int8 kernels of the same shape in the same run:
// ResNet-50 convs with block4 ([1,4] input channels) at 95 % and BERT-base linear layers at 90 %
// (block4 and unstructured), 1 and 2 threads. Alternating dense / sparse runs; counters give both
// medians and the speed-up (see spmm_bench.cc).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "engine/kernels/qspmm/family.h"
#include "engine/kernels/spmm/spmm_cases.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

using Clock = std::chrono::steady_clock;

// s8 weights, zero point 0; groups of 4 consecutive input channels (at one tap: `taps` apart in
// OIHW memory) pruned together with probability `zeros` (block4), or each weight alone.
std::vector<std::int8_t> weights(std::size_t out, std::size_t in, std::size_t taps, double zeros, bool block4,
                                 std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<std::int8_t> w(out * in * taps);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t t = 0; t < taps; ++t) {
      bool keep = true;
      for (std::size_t i = 0; i < in; ++i) {
        if (!block4 || i % 4 == 0) keep = u(rng) >= zeros;
        int v = keep ? d(rng) : 0;
        if (keep && v == 0) v = 1;
        w[(o * in + i) * taps + t] = static_cast<std::int8_t>(v);
      }
    }
  return w;
}

std::vector<std::uint8_t> activations(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(d(rng));
  return v;
}

void* aligned(std::vector<unsigned char>& buf, std::size_t bytes) {
  buf.resize(bytes + 64);
  return buf.data() + (64 - reinterpret_cast<std::uintptr_t>(buf.data()) % 64) % 64;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <class Dense, class Sparse>
void alternate(benchmark::State& state, Dense dense, Sparse sparse) {
  std::vector<double> td, ts;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    dense();
    const auto t1 = Clock::now();
    sparse();
    const auto t2 = Clock::now();
    td.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    ts.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    state.SetIterationTime(ts.back() / 1e3);
  }
  const double d = median(td), s = median(ts);
  state.counters["dense_ms"] = d;
  state.counters["sparse_ms"] = s;
  state.counters["speedup"] = s > 0 ? d / s : 0;
}

QGemmParams params() {
  QGemmParams p;
  p.a_zero_point = 3;
  p.a_scale = 0.02f;
  p.w_scales = {0.01f};
  p.y_scale = 0.5f;
  p.y_zero_point = 10;
  return p;
}

void bench_qconv(benchmark::State& state) {
  const auto& c = sparse_cases::kResNet50[state.range(0)];
  const double zeros = static_cast<double>(state.range(1)) / 100.0;
  const int threads = static_cast<int>(state.range(2));
  const Isa isa = cpu_info().best_isa();
  const Conv2dShape s = c.shape();
  std::mt19937 rng(3);
  const auto w = weights(c.m, c.c, c.k * c.k, zeros, true, rng);
  const auto x = activations(c.c * c.hw * c.hw, rng);
  std::vector<std::uint8_t> y(c.m * s.out_h() * s.out_w());
  const QGemmParams p = params();
  QConv2dU8S8 dense;
  QSparseConv2dU8S8 sparse;
  if (!dense.prepare(s, w.data(), p, isa).ok() || !sparse.prepare(s, w.data(), p, isa).ok()) {
    state.SkipWithError("prepare failed");
    return;
  }
  ThreadPool pool(threads);
  std::vector<unsigned char> b1, b2;
  void* sd = aligned(b1, dense.scratch_bytes(threads));
  void* ss = aligned(b2, sparse.scratch_bytes(threads));
  alternate(state, [&] { dense.run(x.data(), y.data(), sd, pool); }, [&] { sparse.run(x.data(), y.data(), ss, pool); });
  state.SetLabel(std::string(c.what) + " block4 " + sparse.name() + " vs " + dense.name());
}

void bench_qlinear(benchmark::State& state) {
  const auto& c = sparse_cases::kBert[state.range(0)];
  const double zeros = static_cast<double>(state.range(1)) / 100.0;
  const bool block4 = state.range(2) != 0;
  const int threads = static_cast<int>(state.range(3));
  const Isa isa = cpu_info().best_isa();
  std::mt19937 rng(4);
  const auto w = weights(c.n, c.k, 1, zeros, block4, rng);  // [n, k]: MatMul weight transposed
  const auto x = activations(c.m * c.k, rng);
  std::vector<std::uint8_t> y(c.m * c.n);
  const QGemmParams p = params();
  QGemmU8S8ConstRight dense;
  QSpmmU8S8ConstRight sparse;
  if (!dense.prepare(c.k, c.n, w.data(), true, p, isa).ok() ||
      !sparse.prepare(c.k, c.n, w.data(), true, p, isa, c.m).ok()) {
    state.SkipWithError("prepare failed");
    return;
  }
  ThreadPool pool(threads);
  std::vector<unsigned char> b1, b2;
  void* sd = aligned(b1, dense.scratch_bytes(threads));
  void* ss = aligned(b2, sparse.scratch_bytes(threads));
  alternate(state, [&] { dense.run(c.m, x.data(), c.k, y.data(), c.n, sd, pool); },
            [&] { sparse.run(c.m, x.data(), c.k, y.data(), c.n, ss, pool); });
  state.SetLabel(std::string(c.what) + (block4 ? " block4 " : " unstructured ") + sparse.name() + " vs " + dense.name());
}

void qconv_args(benchmark::internal::Benchmark* b) {
  for (std::size_t i = 0; i < std::size(sparse_cases::kResNet50); ++i)
    for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(i), 95, t});
}
void qlinear_args(benchmark::internal::Benchmark* b) {
  for (std::size_t i = 0; i < std::size(sparse_cases::kBert); ++i)
    for (int block4 : {1, 0})
      for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(i), 90, block4, t});
}

BENCHMARK(bench_qconv)->Apply(qconv_args)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(bench_qlinear)->Apply(qlinear_args)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
