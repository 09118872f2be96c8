// The execution plan: a graph (after passes) compiled for one set of input shapes into steps with
// a chosen implementation each, arena offsets for every intermediate value, and nothing left to
// decide at run time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"
#include "engine/runtime/arena.h"
#include "engine/runtime/plan_impl.h"

namespace sparsify::engine {

/// Compile-time choices for a plan.
struct PlanOptions {
  Isa isa = Isa::kScalar;  // highest ISA kernels may use (already capped by SPARSIFY_ISA)
  int threads = 1;         // threads the kernels may use
  SparseMode sparse = SparseMode::kAuto;  // dense / sparse choice for constant-weight layers
};

/// An implementation considered for a step and not taken, with the reason.
struct RejectedImpl {
  std::string impl;
  std::string reason;
};

/// Where a value lives at run time.
enum class Storage : std::uint8_t { kNone, kArena, kConstant };

/// One step: a node of the optimized graph and how it runs.
struct PlanStep {
  std::int32_t node = -1;
  std::string impl;                   // "reference", "alias", or a plan_impls.def / kernel name
  std::vector<RejectedImpl> rejected;  // tried first, in table order
  std::string decision;                // the kernel's own choice among alternatives (StepKernel::decision)
  Epilogue epilogue;
  bool alias = false;     // output 0 is a view of input 0 (Reshape, Flatten, ...): nothing runs
  bool in_place = false;  // output 0 reuses input in_place_input's storage
  int in_place_input = -1;
  // Run-time state, bound at build.
  std::vector<Tensor> outputs;                 // arena views, one per node output (unnamed ones too)
  std::unique_ptr<OpContext> context;          // reference steps
  std::unique_ptr<StepKernel> kernel;          // optimized steps
  std::vector<std::pair<std::byte*, std::size_t>> zero;  // reference: outputs cleared before run
};

/// Where a value is, for the dump and tests.
struct ValueSlot {
  Storage storage = Storage::kNone;
  std::size_t offset = 0;  // arena offset when kArena
  std::size_t bytes = 0;
  std::int32_t buffer = -1;  // memory-planner buffer (values sharing one are aliases or in place)
};

/// A graph compiled for one input-shape set. Build once, run many times. Not thread-safe: one run
/// at a time (the arena is shared by all steps). Outputs of run() are written into caller tensors.
class ExecutionPlan {
 public:
  ~ExecutionPlan();
  ExecutionPlan(const ExecutionPlan&) = delete;
  ExecutionPlan& operator=(const ExecutionPlan&) = delete;

  /// Builds the plan for `passes.graph` (shapes inferred from `passes.input_descs`). Errors:
  /// unsupported when a shape depends on run-time data (the caller may fall back to the reference
  /// executor), or whatever an op's prepare reports (naming the node).
  static StatusOr<std::unique_ptr<ExecutionPlan>> build(PassState passes, const PlanOptions& options);

  /// Copies `inputs` (graph-input order; dtype and dims must equal the compiled ones, else
  /// invalid_argument naming the input and what was expected) into the arena, runs every step and
  /// copies the graph outputs into `outputs` (each already of the compiled dtype and dims; see
  /// make_outputs()). Allocates nothing in the plan's steps that are not "reference".
  Status run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs);

  /// Starts (or stops) timing each step in run(); clears the totals. Allocates here, not in run().
  void set_profiling(bool on);
  /// Per step: total milliseconds over the runs since set_profiling(true) (empty when off).
  const std::vector<double>& step_ms() const { return step_ms_; }
  /// The slowest steps from step_ms(), one line each ("12.3 ms  31%  Conv 'x' -> kernel").
  std::string profile_report(std::size_t top) const;

  /// Number of steps whose implementation is "reference" (they may allocate inside the op).
  std::size_t reference_steps() const;

  /// Fresh output tensors of the compiled dtypes and dims, for run().
  std::vector<Tensor> make_outputs() const;

  const Graph& graph() const { return graph_; }
  const std::vector<PlanStep>& steps() const { return steps_; }
  const std::vector<ValueSlot>& slots() const { return slots_; }
  const std::vector<PassLogEntry>& pass_log() const { return pass_log_; }
  /// Dtype and dims of each value (index ValueId).
  const Tensor& value_desc(ValueId id) const { return descs_[id]; }
  std::size_t arena_bytes() const { return arena_.size(); }
  std::size_t unshared_bytes() const { return unshared_bytes_; }
  std::size_t scratch_bytes() const { return scratch_bytes_; }
  const PlanOptions& options() const { return options_; }

  /// The human-readable plan: one block per step (op, node, implementation, shapes, arena
  /// offsets, rejected alternatives with reasons), then the memory summary and the pass log.
  std::string dump() const;

 private:
  ExecutionPlan();
  Status bind_steps();
  Status run_step(PlanStep& step);

  Graph graph_;
  PlanOptions options_;
  std::vector<PassLogEntry> pass_log_;
  std::vector<Tensor> descs_;     // per value: dtype + dims (contents for constants)
  std::vector<ValueSlot> slots_;  // per value
  std::vector<Tensor> tensors_;   // per value: the tensor steps read (arena view or constant)
  std::vector<PlanStep> steps_;
  std::vector<std::int32_t> runnable_;  // indices of steps that do work
  std::vector<double> step_ms_;         // profiling totals; empty when not profiling
  Arena arena_;
  std::unique_ptr<ThreadPool> pool_;  // the kernels' workers, started at build
  Arena scratch_;  // per-step scratch (kernels), sized at build from the largest need
  std::size_t unshared_bytes_ = 0;
  std::size_t scratch_bytes_ = 0;
};

}  // namespace sparsify::engine
