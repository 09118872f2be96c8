// The per-layer profile table of `sparsify benchmark --profile`, built from a profiled
// ExecutionPlan through its public accessors (steps, step_ms, graph, value_desc).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/runtime/plan.h"

namespace sparsify::tools {

/// One row: a plan step that did work.
struct ProfileRow {
  std::string op, node, kernel, shape;  // shape: the first output, e.g. "float32[1,64,56,56]"
  double weight_sparsity = -1;          // fraction of zeros in the constant weight; -1 when none
  double ms = 0;                        // mean milliseconds per run
  double gflops = 0;                    // dense-equivalent GFLOP/s (0 for ops without a count)
  double share = 0;                     // fraction of the total step time
};

/// Dense-equivalent floating-point (or integer multiply-add) operations of one step, counted as
/// 2 per multiply-add for Conv, Gemm, MatMul and their integer forms; 0 for other ops.
double step_flops(const engine::ExecutionPlan& plan, const engine::PlanStep& step);

/// Rows for every step with a measured time, slowest first, times divided by `runs`.
std::vector<ProfileRow> profile_rows(const engine::ExecutionPlan& plan, std::size_t runs);

/// The rows as an aligned text table (the `top` slowest; 0 for all) with a total line.
std::string format_profile(const std::vector<ProfileRow>& rows, std::size_t top);

}  // namespace sparsify::tools
