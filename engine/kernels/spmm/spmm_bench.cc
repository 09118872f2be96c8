// Google Benchmark for fp32 SpMM against the dense fp32 kernels of the same shape in the same run:
// ResNet-50 convs at 90 % / 95 % zeros and BERT-base linear layers at 90 %, 1 and 2 threads.
// Each iteration runs dense then sparse (alternating, so machine load hits both alike); the
// reported time is the sparse kernel's; counters give both medians and the speed-up.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "engine/kernels/gemm/family.h"
#include "engine/kernels/spmm/family.h"
#include "engine/kernels/spmm/spmm_cases.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<float> weights(std::size_t n, double zeros, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1), u(0, 1);
  std::vector<float> w(n);
  for (float& v : w) v = u(rng) < zeros ? 0.0f : d(rng);
  return w;
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

void bench_conv(benchmark::State& state) {
  const auto& c = sparse_cases::kResNet50[state.range(0)];
  const double zeros = static_cast<double>(state.range(1)) / 100.0;
  const int threads = static_cast<int>(state.range(2));
  const Isa isa = cpu_info().best_isa();
  const Conv2dShape s = c.shape();
  std::mt19937 rng(1);
  const auto w = weights(c.m * c.c * c.k * c.k, zeros, rng), x = weights(c.c * c.hw * c.hw, 0, rng),
             bias = weights(c.m, 0, rng);
  std::vector<float> y(c.m * s.out_h() * s.out_w());
  Conv2dF32 dense;
  SparseConv2dF32 sparse;
  if (!dense.prepare(s, w.data(), bias.data(), ActivationParams::relu(), isa).ok() ||
      !sparse.prepare(s, w.data(), bias.data(), ActivationParams::relu(), isa).ok()) {
    state.SkipWithError("prepare failed");
    return;
  }
  ThreadPool pool(threads);
  std::vector<unsigned char> b1, b2;
  void* sd = aligned(b1, dense.scratch_bytes(threads));
  void* ss = aligned(b2, sparse.scratch_bytes(threads));
  alternate(state, [&] { dense.run(x.data(), y.data(), sd, pool); }, [&] { sparse.run(x.data(), y.data(), ss, pool); });
  state.SetLabel(std::string(c.what) + " " + sparse.name() + " vs " + dense.name());
}

void bench_linear(benchmark::State& state) {
  const auto& c = sparse_cases::kBert[state.range(0)];
  const double zeros = static_cast<double>(state.range(1)) / 100.0;
  const int threads = static_cast<int>(state.range(2));
  const Isa isa = cpu_info().best_isa();
  std::mt19937 rng(2);
  const auto w = weights(c.k * c.n, zeros, rng), x = weights(c.m * c.k, 0, rng), bias = weights(c.n, 0, rng);
  std::vector<float> y(c.m * c.n);
  GemmF32ConstRight dense;
  SpmmF32ConstRight sparse;
  if (!dense.prepare(c.k, c.n, w.data(), false, bias.data(), ActivationParams::none(), isa, c.m).ok() ||
      !sparse.prepare(c.k, c.n, w.data(), false, bias.data(), ActivationParams::none(), isa, c.m).ok()) {
    state.SkipWithError("prepare failed");
    return;
  }
  ThreadPool pool(threads);
  std::vector<unsigned char> b1, b2;
  void* sd = aligned(b1, dense.scratch_bytes(threads));
  void* ss = aligned(b2, sparse.scratch_bytes(threads));
  alternate(state, [&] { dense.run(c.m, x.data(), c.k, y.data(), c.n, sd, pool); },
            [&] { sparse.run(c.m, x.data(), c.k, y.data(), c.n, ss, pool); });
  state.SetLabel(std::string(c.what) + " " + sparse.name() + " vs " + dense.name());
}

void conv_args(benchmark::internal::Benchmark* b) {
  for (std::size_t i = 0; i < std::size(sparse_cases::kResNet50); ++i)
    for (int z : {90, 95})
      for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(i), z, t});
}
void linear_args(benchmark::internal::Benchmark* b) {
  for (std::size_t i = 0; i < std::size(sparse_cases::kBert); ++i)
    for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(i), 90, t});
}

BENCHMARK(bench_conv)->Apply(conv_args)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(bench_linear)->Apply(linear_args)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
