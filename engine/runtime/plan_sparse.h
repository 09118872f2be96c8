// Shared by the sparse and int8 step implementations (plan_impls_sparse.cc, plan_impls_quant.cc):
// conv geometry from a node, the dense-vs-sparse cost model, compile-time timing, the decision.
#pragma once

#include <functional>
#include <string>

#include "engine/kernels/common.h"
#include "engine/kernels/conv/family.h"
#include "engine/runtime/plan_impl.h"

namespace sparsify::engine {

/// Conv2dShape of a Conv / QLinearConv / ConvInteger node: input 0 is x (NCHW), `w_index` the
/// OIHW weight. unsupported unless the node is a 2-D conv whose output matches the geometry.
Status conv2d_shape_of(const StepBinding& b, std::size_t w_index, Conv2dShape* s);

/// Operands of a Gemm / MatMul with a constant float32 right operand (input 1): transB, the
/// per-column bias (Gemm's C, or a fused MatMul bias) and m, k, n. unsupported for transA, alpha or
/// beta != 1, a bias that is not a per-column float32 constant, mismatched or empty dims.
struct GemmOperands {
  const Tensor* bias = nullptr;
  bool w_transposed = false;
  std::size_t m = 0, k = 0, n = 0;
};
Status gemm_operands(const StepBinding& b, GemmOperands* out);

/// The clamp part of an epilogue (fused into kernels) and the rest (run after, same step).
ActivationParams split_epilogue(const Epilogue& ep, Epilogue* rest);
/// A step's kernel name followed by what its epilogue runs after the kernel (" + f32_gelu__avx512").
std::string with_rest(const std::string& name, const Epilogue& rest, Isa isa);

/// Estimated milliseconds (rates calibrated on the kernels' benchmarks, per thread, scaled by
/// `threads`). macs = multiply-adds; `packed` = bytes the sparse path packs or copies per run.
double est_f32_dense_ms(double macs, Isa isa, int threads);
double est_f32_sparse_ms(double nnz_macs, double packed_bytes, Isa isa, int threads);
double est_q_dense_ms(double macs, Isa isa, int threads);
double est_q_sparse_ms(double block_macs, double packed_bytes, Isa isa, int threads);

/// Minimum wall time of `run` over 3 runs after one warm-up (the minimum is the least disturbed
/// by other processes on a loaded machine), in ms. Runs at most ~4 times.
double time_min_ms(const std::function<void()>& run);

/// Outcome of the dense-or-sparse choice for one layer, with its reason and numbers.
struct SparseVerdict {
  bool sparse = false;
  bool timed = false;
  std::string text;  // "f32_spmm_minmax_1x64__avx512 chosen: 90.1 % zeros, est 0.21 ms vs dense ... 0.64 ms (timed: ...)"
};

/// Estimates within this factor of each other are timed on the real shapes.
constexpr double kTimeWithin = 1.5;
/// Below this fraction of zeros sparse is rejected without timing.
constexpr double kMinZeros = 0.25;

/// The choice: `mode` off/on decides outright; auto rejects below kMinZeros, trusts estimates
/// further apart than kTimeWithin and otherwise calls the two timers (ms) and keeps the faster.
/// `stats` describes the zeros ("90.1 % zeros (block-4 groups 72.3 % empty)").
SparseVerdict decide_sparse(SparseMode mode, const std::string& sparse_name, const std::string& dense_name,
                            const std::string& stats, double zeros, double est_sparse, double est_dense,
                            const std::function<double()>& time_sparse, const std::function<double()>& time_dense);

/// A 64-byte aligned buffer of at least `bytes` (timing scratch at build).
class ScratchBuffer {
 public:
  explicit ScratchBuffer(std::size_t bytes) : data_(ceil_div(bytes, sizeof(std::uint64_t)) + 8) {}
  void* get() { return data_.data(); }

 private:
  AlignedArray<std::uint64_t> data_;
};

}  // namespace sparsify::engine
