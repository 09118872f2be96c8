// The reference executor: runs a graph node by node in topological order with the reference ops.
#pragma once

#include <memory>
#include <vector>

#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/graph/shape_inference.h"

namespace sparsify::engine {

/// A graph compiled for one set of input shapes: inferred shapes, folded constants and the order in
/// which nodes run. This reference path allocates per run; the optimized plan (kernel per node,
/// arena offsets) will be built from the same InferredGraph.
class ReferenceExecutor {
 public:
  /// Infers shapes for `input_descs` (dtype and dims per graph input) and folds constants.
  /// `graph` is shared and must outlive nothing else; it is never modified.
  static StatusOr<ReferenceExecutor> compile(std::shared_ptr<const Graph> graph,
                                             const std::vector<Tensor>& input_descs,
                                             bool check_declared_shapes = true);

  /// Runs with `inputs` in graph-input order (dtypes and dims must equal the compiled ones) and
  /// returns the graph outputs in order. Outputs own their buffers. Not thread-safe per instance.
  StatusOr<std::vector<Tensor>> run(const std::vector<Tensor>& inputs) const;

  const InferredGraph& inferred() const { return inferred_; }

 private:
  std::shared_ptr<const Graph> graph_;
  InferredGraph inferred_;
  std::vector<std::int32_t> last_use_;  // per value: index of the last node reading it (-1: none)
};

}  // namespace sparsify::engine
