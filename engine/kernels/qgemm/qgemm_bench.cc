// Google Benchmark for the int8 GEMM rows: ResNet-50 conv-shaped (constant left) and BERT-shaped
// (constant right) products, u8 output, 1 and 2 threads. Rates use the caller's CPU time.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/kernels/qgemm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

struct Shape {
  const char* what;
  std::size_t m, n, k;
  bool const_left;
};

constexpr Shape kShapes[] = {
    {"rn50_1x1_256to64_56", 64, 3136, 256, true},  {"rn50_3x3as_gemm_64_56", 64, 3136, 576, true},
    {"rn50_1x1_1024to256_14", 256, 196, 1024, true}, {"rn50_3x3as_gemm_512_7", 512, 49, 4608, true},
    {"bert_qkv_128", 128, 768, 768, false},        {"bert_ffn1_128", 128, 3072, 768, false},
};

void bench_qgemm(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  const QGemmKernel& row = qgemm_kernels()[static_cast<std::size_t>(state.range(1))];
  const int threads = static_cast<int>(state.range(2));
  if (row.isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
  for (auto& v : a) v = static_cast<std::uint8_t>(byte(rng));
  for (auto& v : b) v = static_cast<std::uint8_t>(byte(rng));
  QGemmParams p;
  p.a_zero_point = 3;
  p.a_scale = 0.02f;
  p.y_scale = 0.5f;
  p.w_scales = {0.01f};
  ThreadPool pool(threads);
  std::vector<unsigned char> scratch;
  auto aligned = [&](std::size_t bytes) {
    scratch.resize(bytes + 64);
    return static_cast<void*>(scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64);
  };
  if (s.const_left) {
    QGemmU8S8ConstLeft g;
    if (!g.prepare(s.m, s.k, a.data(), p, row.isa, &row).ok()) return;
    void* sp = aligned(g.scratch_bytes(threads));
    for (auto _ : state) g.run(s.n, b.data(), s.n, c.data(), s.n, sp, pool);
  } else {
    QGemmU8S8ConstRight g;
    if (!g.prepare(s.k, s.n, b.data(), false, p, row.isa, &row).ok()) return;
    void* sp = aligned(g.scratch_bytes(threads));
    for (auto _ : state) g.run(s.m, a.data(), s.k, c.data(), s.n, sp, pool);
  }
  state.SetLabel(std::string(s.what) + " " + row.name);
  state.counters["OP/s"] =
      benchmark::Counter(2.0 * double(s.m) * double(s.n) * double(s.k), benchmark::Counter::kIsIterationInvariantRate);
}

void args(benchmark::internal::Benchmark* b) {
  for (std::size_t s = 0; s < std::size(kShapes); ++s)
    for (std::size_t r = 0; r < qgemm_kernels().size(); ++r)
      for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(s), static_cast<std::int64_t>(r), t});
}

BENCHMARK(bench_qgemm)->Apply(args)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
