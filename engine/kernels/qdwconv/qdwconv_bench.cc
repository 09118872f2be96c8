// Google Benchmark for the int8 depthwise conv rows on MobileNetV2's depthwise layer shapes,
// u8 output, 1 and 2 threads. Rates use the caller's CPU time.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/kernels/qdwconv/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

struct Shape {
  const char* what;
  std::size_t c, hw, stride;
};

constexpr Shape kShapes[] = {
    {"mbv2_32x112_s1", 32, 112, 1}, {"mbv2_96x112_s2", 96, 112, 2}, {"mbv2_144x56_s1", 144, 56, 1},
    {"mbv2_192x28_s1", 192, 28, 1}, {"mbv2_384x14_s1", 384, 14, 1}, {"mbv2_960x7_s1", 960, 7, 1},
};

void bench_qdwconv(benchmark::State& state) {
  const Shape& sh = kShapes[state.range(0)];
  const QDwConvKernel& row = qdwconv_kernels()[static_cast<std::size_t>(state.range(1))];
  const int threads = static_cast<int>(state.range(2));
  if (row.isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  Conv2dShape s;
  s.in_channels = s.out_channels = s.groups = sh.c;
  s.in_h = s.in_w = sh.hw;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = sh.stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> x(sh.c * sh.hw * sh.hw), w(sh.c * 9), y(sh.c * s.out_h() * s.out_w());
  for (auto& v : x) v = static_cast<std::uint8_t>(byte(rng));
  for (auto& v : w) v = static_cast<std::uint8_t>(byte(rng));
  QGemmParams p;
  p.a_zero_point = 3;
  p.a_scale = 0.02f;
  p.y_scale = 0.5f;
  p.w_scales = {0.01f};
  ThreadPool pool(threads);
  QDwConv2dU8S8 dw;
  if (!dw.prepare(s, w.data(), p, row.isa, &row).ok()) return;
  std::vector<unsigned char> scratch(dw.scratch_bytes(threads) + 64);
  void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
  for (auto _ : state) dw.run(x.data(), y.data(), sp, pool);
  state.SetLabel(std::string(sh.what) + " " + row.name);
  state.counters["OP/s"] = benchmark::Counter(s.flops(), benchmark::Counter::kIsIterationInvariantRate);
}

void args(benchmark::internal::Benchmark* b) {
  for (std::size_t s = 0; s < std::size(kShapes); ++s)
    for (std::size_t r = 0; r < qdwconv_kernels().size(); ++r)
      for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(s), static_cast<std::int64_t>(r), t});
}

BENCHMARK(bench_qdwconv)->Apply(args)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
