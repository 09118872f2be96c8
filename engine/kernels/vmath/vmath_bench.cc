// Google Benchmark for the vector-math rows on BERT-base shapes (sequence 128): softmax over
// 12 x 128 rows of 128, layer norm over 128 rows of 768, erf and gelu over 128 x 3072.
#include <benchmark/benchmark.h>

#include <vector>

#include "engine/kernels/vmath/family.h"

namespace sparsify::engine {
namespace {

const F32VmathKernels* row_or_skip(benchmark::State& state) {
  const F32VmathKernels& row = f32_vmath_kernels()[static_cast<std::size_t>(state.range(0))];
  if (row.isa > cpu_info().best_isa()) {
    state.SkipWithError("ISA not supported here");
    return nullptr;
  }
  return &row;
}

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 97) * 0.05f - 2.0f;
  return v;
}

void bench_softmax(benchmark::State& state) {
  const F32VmathKernels* row = row_or_skip(state);
  if (row == nullptr) return;
  const std::size_t rows = 12 * 128, n = 128;
  std::vector<float> x = ramp(rows * n), y(rows * n);
  for (auto _ : state)
    for (std::size_t r = 0; r < rows; ++r) row->softmax(x.data() + r * n, y.data() + r * n, n);
  state.SetLabel(row->softmax_name);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows * n));
}

void bench_layer_norm(benchmark::State& state) {
  const F32VmathKernels* row = row_or_skip(state);
  if (row == nullptr) return;
  const std::size_t rows = 128, n = 768;
  std::vector<float> x = ramp(rows * n), y(rows * n), scale(n, 1.0f), bias(n, 0.0f);
  for (auto _ : state)
    for (std::size_t r = 0; r < rows; ++r) row->layer_norm(x.data() + r * n, y.data() + r * n, n, scale.data(), bias.data(), 1e-12f);
  state.SetLabel(row->layer_norm_name);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows * n));
}

void bench_map(benchmark::State& state, bool gelu) {
  const F32VmathKernels* row = row_or_skip(state);
  if (row == nullptr) return;
  const std::size_t n = 128 * 3072;
  std::vector<float> x = ramp(n), y(n);
  for (auto _ : state) (gelu ? row->gelu : row->erf)(x.data(), y.data(), n);
  state.SetLabel(gelu ? row->gelu_name : row->erf_name);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
void bench_erf(benchmark::State& state) { bench_map(state, false); }
void bench_gelu(benchmark::State& state) { bench_map(state, true); }

void rows(benchmark::internal::Benchmark* b) {
  for (std::size_t r = 0; r < f32_vmath_kernels().size(); ++r) b->Arg(static_cast<std::int64_t>(r));
}

BENCHMARK(bench_softmax)->Apply(rows)->Unit(benchmark::kMicrosecond);
BENCHMARK(bench_layer_norm)->Apply(rows)->Unit(benchmark::kMicrosecond);
BENCHMARK(bench_erf)->Apply(rows)->Unit(benchmark::kMicrosecond);
BENCHMARK(bench_gelu)->Apply(rows)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sparsify::engine

BENCHMARK_MAIN();
