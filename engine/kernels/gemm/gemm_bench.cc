// Google Benchmark for the fp32 GEMM rows: conv-shaped (constant left) and MatMul-shaped
// (constant right) problems from ResNet-50 and BERT-base, and BERT's batched attention products
// (both operands packed per run), batch 1, 1 and 2 threads.
#include <benchmark/benchmark.h>

#include <atomic>
#include <random>
#include <vector>

#include "engine/kernels/gemm/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

struct Shape {
  const char* what;
  std::size_t m, n, k;
  bool const_left;
};

constexpr Shape kShapes[] = {
    {"rn50_1x1_256to64_56", 64, 3136, 256, true},   {"rn50_1x1_64to256_56", 256, 3136, 64, true},
    {"rn50_1x1_512to128_28", 128, 784, 512, true},  {"rn50_1x1_1024to256_14", 256, 196, 1024, true},
    {"rn50_1x1_2048to512_7", 512, 49, 2048, true},  {"rn50_3x3as_gemm_64_56", 64, 3136, 576, true},
    {"bert_qkv_128", 128, 768, 768, false},         {"bert_ffn1_128", 128, 3072, 768, false},
    {"bert_ffn2_128", 128, 768, 3072, false},
};

void bench_gemm(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  const F32GemmKernel& row = f32_gemm_kernels()[static_cast<std::size_t>(state.range(1))];
  const int threads = static_cast<int>(state.range(2));
  if (row.isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> a(s.m * s.k), b(s.k * s.n), bias(std::max(s.m, s.n)), c(s.m * s.n);
  for (float& v : a) v = d(rng);
  for (float& v : b) v = d(rng);
  ThreadPool pool(threads);
  std::vector<unsigned char> scratch;
  if (s.const_left) {
    GemmF32ConstLeft g;
    if (!g.prepare(s.m, s.k, a.data(), bias.data(), ActivationParams::relu(), row.isa, s.n, &row).ok()) return;
    scratch.resize(g.scratch_bytes(threads) + 64);
    void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
    for (auto _ : state) g.run(s.n, b.data(), s.n, c.data(), s.n, sp, pool);
  } else {
    GemmF32ConstRight g;
    if (!g.prepare(s.k, s.n, b.data(), false, bias.data(), ActivationParams::none(), row.isa, s.m, &row).ok()) return;
    scratch.resize(g.scratch_bytes(threads) + 64);
    void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
    for (auto _ : state) g.run(s.m, a.data(), s.k, c.data(), s.n, sp, pool);
  }
  state.SetLabel(std::string(s.what) + " " + row.name);
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * double(s.m) * double(s.n) * double(s.k), benchmark::Counter::kIsIterationInvariantRate);
}

void args(benchmark::internal::Benchmark* b) {
  for (std::size_t s = 0; s < std::size(kShapes); ++s)
    for (std::size_t r = 0; r < f32_gemm_kernels().size(); ++r)
      for (int t : {1, 2}) b->Args({static_cast<std::int64_t>(s), static_cast<std::int64_t>(r), t});
}

BENCHMARK(bench_gemm)->Apply(args)->Unit(benchmark::kMicrosecond);

// Batched products of two run-time operands: BERT-base attention at sequence 128, 12 heads
// (Q·K^T with K stored [S, D] per head, i.e. B transposed; P·V), batch 1.
void bench_batched(benchmark::State& state) {
  const bool qk = state.range(0) == 0;
  const F32GemmKernel& row = f32_gemm_kernels()[static_cast<std::size_t>(state.range(1))];
  const int threads = static_cast<int>(state.range(2));
  if (row.isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  const std::size_t heads = 12, m = 128, n = qk ? 128 : 64, k = qk ? 64 : 128;
  std::vector<float> a(heads * m * k, 0.5f), b(heads * k * n, 0.25f), c(heads * m * n);
  std::vector<std::size_t> ao(heads), bo(heads), co(heads);
  for (std::size_t h = 0; h < heads; ++h) {
    ao[h] = h * m * k;
    bo[h] = h * k * n;
    co[h] = h * m * n;
  }
  ThreadPool pool(threads);
  GemmF32Batched g;
  if (!g.prepare(m, n, k, /*b_transposed=*/qk, row.isa, threads, heads, &row).ok()) return;
  std::vector<unsigned char> scratch(g.scratch_bytes(threads) + 64);
  void* sp = scratch.data() + (64 - reinterpret_cast<std::uintptr_t>(scratch.data()) % 64) % 64;
  for (auto _ : state) g.run(heads, a.data(), ao.data(), k, b.data(), bo.data(), qk ? k : n, c.data(), co.data(), n, sp, pool);
  state.SetLabel(std::string(qk ? "bert_attn_qk^T_12x128" : "bert_attn_pv_12x128") + " " + row.name);
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(heads * m * n * k), benchmark::Counter::kIsIterationInvariantRate);
}

void batched_args(benchmark::internal::Benchmark* b) {
  for (int shape : {0, 1})
    for (std::size_t r = 0; r < f32_gemm_kernels().size(); ++r)
      for (int t : {1, 2}) b->Args({shape, static_cast<std::int64_t>(r), t});
}

BENCHMARK(bench_batched)->Apply(batched_args)->Unit(benchmark::kMicrosecond);

// The fixed cost every threaded kernel pays: one parallel_for of `threads` empty tasks.
void bench_parallel_for_overhead(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::atomic<int> sink{0};
  for (auto _ : state) pool.parallel_for(pool.threads(), [&](std::int64_t task, int) { sink.fetch_add(int(task)); });
  benchmark::DoNotOptimize(sink.load());
}
BENCHMARK(bench_parallel_for_overhead)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
