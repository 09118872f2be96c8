// The interface between the plan and its optimized step implementations: what a factory sees when
// the plan is built (the node, bound tensors, epilogue, ISA, threads) and the object it returns.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/passes/epilogue.h"
#include "engine/runtime/sparse_mode.h"

namespace sparsify::engine {

class ThreadPool;

/// Everything a factory may look at. Input and output tensors are bound to their final storage
/// (constants, or arena views whose addresses never change), so a kernel may keep raw pointers.
struct StepBinding {
  const Node* node = nullptr;
  std::int64_t opset = 0;
  std::vector<const Tensor*> inputs;  // nullptr for omitted optional inputs
  std::vector<bool> input_is_constant;  // per input: contents fixed at compile (weights, folded values)
  std::vector<Tensor*> outputs;       // nullptr for outputs the node does not name
  Epilogue epilogue;
  Isa isa = Isa::kScalar;
  int threads = 1;
  bool in_place = false;  // output 0 shares storage with an input: the kernel must allow it
  SparseMode sparse = SparseMode::kAuto;
  ThreadPool* pool = nullptr;  // the plan's pool, for timing candidate kernels at build
};

/// One optimized implementation bound to one step. Built once at plan time; run() must not
/// allocate, validate or choose anything. Not thread-safe (the plan runs steps one at a time;
/// a kernel may use the pool inside run()).
class StepKernel {
 public:
  virtual ~StepKernel() = default;
  /// Scratch the step needs for `threads` threads; the plan places it in the arena.
  virtual std::size_t scratch_bytes() const { return 0; }
  /// The kernels actually chosen inside ("f32_im2col__avx512 + f32_gemm_minmax_8x32__avx512"), or
  /// "" when the table row's name says it all.
  virtual std::string name() const { return ""; }
  /// Why this implementation and not its alternatives, with the numbers (sparse vs dense: zeros,
  /// estimated and timed cost), for the plan dump; "" when there was nothing to weigh.
  virtual std::string decision() const { return ""; }
  /// Runs the step. `scratch` holds scratch_bytes() aligned bytes; `pool` is the plan's pool.
  virtual Status run(std::byte* scratch, ThreadPool* pool) = 0;
};

/// Applies the activation part of `rest` (an epilogue a kernel could not fuse) to n floats in place,
/// with the vector kernels `isa` allows, split across `pool` when large. For run().
void run_epilogue(const Epilogue& rest, float* y, std::int64_t n, Isa isa, ThreadPool* pool);
/// What run_epilogue runs, for kernel names: "" (nothing), "f32_gelu__avx512", "sigmoid", ...
std::string epilogue_name(const Epilogue& rest, Isa isa);

/// A factory: a bound kernel, or `unsupported` with the reason it does not apply (kept for the
/// plan dump as a rejected alternative).
using StepFactory = StatusOr<std::unique_ptr<StepKernel>> (*)(const StepBinding& binding);

/// One row of plan_impls.def.
struct StepImplInfo {
  const char* name;
  const char* op_type;
  StepFactory make;
};

/// Every row of plan_impls.def in table order (best first per op).
const std::vector<StepImplInfo>& all_step_impls();

#define SPARSIFY_STEP_IMPL(name, op_type, factory) StatusOr<std::unique_ptr<StepKernel>> factory(const StepBinding& binding);
#include "engine/runtime/plan_impls.def"
#undef SPARSIFY_STEP_IMPL

}  // namespace sparsify::engine
