// Compile-time type and shape inference for one concrete set of input shapes, with constant folding.
#pragma once

#include <vector>

#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/graph/tensor.h"

namespace sparsify::engine {

/// What compile time knows about every value for one set of input shapes.
struct InferredGraph {
  /// Per ValueId: dtype and dims (shape only), or the contents for constants and folded values.
  /// dtype kUndefined marks a value whose shape depends on run-time contents (e.g. after NonZero).
  std::vector<Tensor> values;
  /// Per node: true when the node was constant-folded and need not run.
  std::vector<bool> folded;
  /// Symbol bindings found while matching input shapes ("batch" -> 8).
  std::map<std::string, std::int64_t> symbols;

  bool is_known(ValueId id) const { return values[id].dtype() != DType::kUndefined; }
};

/// Binds `input_descs` (dtype and dims for each of graph.inputs, in order; contents ignored) to the
/// declared input shapes, then runs each node's prepare in topological order and folds nodes whose
/// inputs are all constant with the reference ops. Errors name the node; op and dtype gaps are
/// unsupported, bad shapes invalid_argument. With `check_declared_shapes` false, input dims that
/// contradict the model's declared input shapes are accepted (ONNX's backend runner does not check).
StatusOr<InferredGraph> infer_shapes(const Graph& graph, const std::vector<Tensor>& input_descs,
                                     bool check_declared_shapes = true);

/// Runs one node's prepare then reference run on `inputs` (all with contents), allocating the
/// outputs. Shared by constant folding and the reference executor.
Status run_node_reference(const Node& node, std::int64_t opset, const std::vector<const Tensor*>& inputs,
                          std::vector<Tensor>& outputs);

}  // namespace sparsify::engine
