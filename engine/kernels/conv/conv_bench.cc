// Google Benchmark for Conv2dF32 over conv_cases.h (ResNet-50 and MobileNet layers, batch 1), with
// the default kernel choice at each ISA level this CPU has, 1 and 2 threads. Rates use the
// calling thread's CPU time, which is robust to other processes sharing the machine.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/kernels/conv/conv_cases.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

void bench_conv(benchmark::State& state) {
  const auto& c = conv_cases::kModelCases[state.range(0)];
  const Isa isa = static_cast<Isa>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  if (isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  const Conv2dShape& s = c.shape;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> x(s.batch * s.in_channels * s.in_h * s.in_w), w(s.out_channels * s.in_channels / s.groups * s.kernel_h * s.kernel_w),
      bias(s.out_channels), y(s.batch * s.out_channels * s.out_h() * s.out_w());
  for (float& v : x) v = d(rng);
  for (float& v : w) v = d(rng);
  Conv2dF32 conv;
  if (!conv.prepare(s, w.data(), bias.data(), ActivationParams::relu(), isa).ok()) {
    state.SkipWithError("prepare failed");
    return;
  }
  ThreadPool pool(threads);
  std::vector<unsigned char> scratch(conv.scratch_bytes(threads) + 64);
  void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
  for (auto _ : state) conv.run(x.data(), y.data(), sp, pool);
  state.SetLabel(std::string(c.name) + " " + conv.name());
  state.counters["FLOP/s"] = benchmark::Counter(s.flops(), benchmark::Counter::kIsIterationInvariantRate);
}

void args(benchmark::internal::Benchmark* b) {
  for (std::size_t i = 0; i < std::size(conv_cases::kModelCases); ++i)
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2})
      for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(i), static_cast<std::int64_t>(isa), t});
}

BENCHMARK(bench_conv)->Apply(args)->Unit(benchmark::kMicrosecond);

// Quantized (u8 x s8 -> u8) convs over the same table, default int8 row, 1 and 2 threads.
void bench_qconv(benchmark::State& state) {
  const auto& c = conv_cases::kModelCases[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  const Conv2dShape& s = c.shape;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> x(s.batch * s.in_channels * s.in_h * s.in_w),
      w(s.out_channels * s.in_channels / s.groups * s.kernel_h * s.kernel_w), y(s.batch * s.out_channels * s.out_h() * s.out_w());
  for (auto& v : x) v = static_cast<std::uint8_t>(byte(rng));
  for (auto& v : w) v = static_cast<std::uint8_t>(byte(rng));
  QGemmParams p;
  p.a_zero_point = 5;
  p.a_scale = 0.02f;
  p.w_scales = {0.01f};
  p.y_scale = 0.5f;
  QConv2dU8S8 conv;
  if (!conv.prepare(s, w.data(), p, cpu_info().best_isa()).ok()) {
    state.SkipWithError("prepare failed");
    return;
  }
  ThreadPool pool(threads);
  std::vector<unsigned char> scratch(conv.scratch_bytes(threads) + 64);
  void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
  for (auto _ : state) conv.run(x.data(), y.data(), sp, pool);
  state.SetLabel(std::string(c.name) + " " + conv.name());
  state.counters["OP/s"] = benchmark::Counter(s.flops(), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(bench_qconv)
    ->Apply([](benchmark::internal::Benchmark* b) {
      for (std::size_t i = 0; i < std::size(conv_cases::kModelCases); ++i)
        for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(i), t});
    })
    ->Unit(benchmark::kMicrosecond);

// All 53 convs of ResNet-50 (batch 1) back to back: the number to hold against a whole-model budget.
void bench_resnet50_convs(benchmark::State& state) {
  const Isa isa = static_cast<Isa>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  if (isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<Conv2dF32> convs(std::size(conv_cases::kResNet50));
  std::size_t scratch_bytes = 0, x_max = 0, y_max = 0;
  double flops = 0;
  for (std::size_t i = 0; i < convs.size(); ++i) {
    const Conv2dShape& s = conv_cases::kResNet50[i].shape;
    std::vector<float> w(s.out_channels * s.in_channels / s.groups * s.kernel_h * s.kernel_w), bias(s.out_channels);
    for (float& v : w) v = d(rng) * 0.05f;
    if (!convs[i].prepare(s, w.data(), bias.data(), ActivationParams::relu(), isa).ok()) {
      state.SkipWithError("prepare failed");
      return;
    }
    scratch_bytes = std::max(scratch_bytes, convs[i].scratch_bytes(threads));
    x_max = std::max(x_max, s.in_channels * s.in_h * s.in_w);
    y_max = std::max(y_max, s.out_channels * s.out_h() * s.out_w());
    flops += s.flops() * conv_cases::kResNet50[i].count;
  }
  std::vector<float> x(x_max), y(y_max);
  for (float& v : x) v = d(rng);
  ThreadPool pool(threads);
  std::vector<unsigned char> scratch(scratch_bytes + 64);
  void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
  for (auto _ : state) {
    for (std::size_t i = 0; i < convs.size(); ++i)
      for (int r = 0; r < conv_cases::kResNet50[i].count; ++r) convs[i].run(x.data(), y.data(), sp, pool);
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP"] = flops * 1e-9;
}
BENCHMARK(bench_resnet50_convs)
    ->Args({static_cast<std::int64_t>(Isa::kAvx512), 1})
    ->Args({static_cast<std::int64_t>(Isa::kAvx512), 2})
    ->Args({static_cast<std::int64_t>(Isa::kAvx2), 1})
    ->Args({static_cast<std::int64_t>(Isa::kAvx2), 2})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
