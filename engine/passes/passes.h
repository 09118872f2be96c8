// Runs the graph passes of passes.def over a copy of a model for one set of input shapes.
#pragma once

#include <vector>

#include "engine/base/status.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {

/// One row of passes.def.
struct PassInfo {
  const char* name;
  bool required;  // runs with optimization off too
  const char* description;
  Status (*fn)(PassState&);
};

/// Every pass, in the order run_passes applies them.
const std::vector<PassInfo>& all_passes();

/// Copies `graph`, runs every pass (or, with `optimize` false, only the required ones) for
/// `input_descs`, and returns the rewritten graph
/// with its log. Errors name the pass and the node. Pure; thread-safe.
StatusOr<PassState> run_passes(const Graph& graph, const std::vector<Tensor>& input_descs,
                               bool check_declared_shapes, bool optimize = true);

}  // namespace sparsify::engine
