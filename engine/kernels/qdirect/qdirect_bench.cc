// Google Benchmark for the int8 direct conv rows on network stem shapes (MobileNetV2 3 -> 32
// 3x3 stride 2 at 224), against the im2col GEMM path on the same layer; 1 and 2 threads.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/kernels/qdirect/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

const Conv2dShape kStem{1, 3, 224, 224, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1};

QGemmParams params() {
  QGemmParams p;
  p.a_zero_point = 3;
  p.a_scale = 0.02f;
  p.y_scale = 0.5f;
  p.w_scales = {0.01f};
  return p;
}

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> v(n);
  for (auto& e : v) e = static_cast<std::uint8_t>(byte(rng));
  return v;
}

void bench_qdirect(benchmark::State& state) {
  const QDirectConvKernel& row = qdirect_kernels()[static_cast<std::size_t>(state.range(0))];
  const int threads = static_cast<int>(state.range(1));
  if (row.isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  const auto x = random_bytes(3 * 224 * 224), w = random_bytes(32 * 27);
  std::vector<std::uint8_t> y(32 * 112 * 112);
  ThreadPool pool(threads);
  QDirectConv2dU8S8 conv;
  if (!conv.prepare(kStem, w.data(), params(), row.isa, &row).ok()) return;
  for (auto _ : state) conv.run(x.data(), y.data(), pool);
  state.SetLabel(std::string("mbv2_stem ") + row.name);
  state.counters["OP/s"] = benchmark::Counter(kStem.flops(), benchmark::Counter::kIsIterationInvariantRate);
}

void bench_im2col_gemm(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const auto x = random_bytes(3 * 224 * 224), w = random_bytes(32 * 27);
  std::vector<std::uint8_t> y(32 * 112 * 112);
  ThreadPool pool(threads);
  QConv2dU8S8 conv;
  if (!conv.prepare(kStem, w.data(), params(), cpu_info().best_isa()).ok()) return;
  std::vector<unsigned char> scratch(conv.scratch_bytes(threads) + 64);
  void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
  for (auto _ : state) conv.run(x.data(), y.data(), sp, pool);
  state.SetLabel(std::string("mbv2_stem ") + conv.name());
  state.counters["OP/s"] = benchmark::Counter(kStem.flops(), benchmark::Counter::kIsIterationInvariantRate);
}

void args(benchmark::internal::Benchmark* b) {
  for (std::size_t r = 0; r < qdirect_kernels().size(); ++r)
    for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(r), t});
}

BENCHMARK(bench_qdirect)->Apply(args)->Unit(benchmark::kMicrosecond);
BENCHMARK(bench_im2col_gemm)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
