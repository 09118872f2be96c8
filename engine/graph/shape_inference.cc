// Shape inference: prepare per node in order; fold nodes whose inputs are all known constants.
#include "engine/graph/shape_inference.h"

#include <algorithm>

#include "engine/ops/op_kernel.h"

namespace sparsify::engine {
namespace {

std::string node_where(const Node& node) { return str_cat("node '", node.name, "' (", node.op_type, ")"); }

// Prefixes op errors with the node unless the op already named it.
Status with_node(const Node& node, const Status& s) {
  if (s.ok()) return s;
  if (s.message().find("'" + node.name + "'") != std::string::npos) return s;
  return s.with_prefix(node_where(node));
}

// Largest tensor a node may produce; beyond it the model is treated as malformed (not allocated).
constexpr double kMaxTensorBytes = 8.0 * (1ull << 30);

Status check_size(const Node& node, std::size_t i, const Tensor& t) {
  double bytes = static_cast<double>(dtype_size(t.dtype()));
  double extent = bytes;  // the same without zero dims: [0, 2^40, 2^40] is empty, yet products of
                          // its other dims would overflow int64 in the ops downstream
  for (std::int64_t d : t.dims()) {
    if (d < 0) return invalid_argument(node_where(node), ": output ", i, " has a negative dim ", dims_to_string(t.dims()));
    bytes *= static_cast<double>(d);
    extent *= static_cast<double>(std::max<std::int64_t>(d, 1));
  }
  if (extent > kMaxTensorBytes && bytes == 0) {
    return invalid_argument(node_where(node), ": output ", i, " ", t.describe(), " is empty but its other dims exceed ",
                            kMaxTensorBytes / (1ull << 30), " GiB");
  }
  if (bytes > kMaxTensorBytes) {
    return invalid_argument(node_where(node), ": output ", i, " ", t.describe(), " exceeds ",
                            kMaxTensorBytes / (1ull << 30), " GiB");
  }
  return Status();
}

// Largest folded output kept at compile time; bigger constants are computed at run time instead.
constexpr std::int64_t kMaxFoldBytes = std::int64_t{64} << 20;

}  // namespace

Status run_node_reference(const Node& node, std::int64_t opset, const std::vector<const Tensor*>& inputs,
                          std::vector<Tensor>& outputs) {
  outputs.assign(node.outputs.size(), Tensor());
  OpContext ctx(node, opset, inputs, &outputs);
  SPARSIFY_RETURN_IF_ERROR(with_node(node, node.op->prepare(ctx)));
  if (ctx.deferred()) return internal_error(node_where(node), ": prepare deferred with all inputs known");
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].dtype() == DType::kUndefined) {  // unnamed optional outputs may stay unset
      if (ctx.has_output(i)) return internal_error(node_where(node), ": prepare did not set output ", i);
      continue;
    }
    SPARSIFY_RETURN_IF_ERROR(check_size(node, i, outputs[i]));
    outputs[i] = Tensor(outputs[i].dtype(), outputs[i].dims());  // unnamed outputs too: ops may write them
  }
  return with_node(node, node.op->run(ctx));
}

StatusOr<InferredGraph> infer_shapes(const Graph& graph, const std::vector<Tensor>& input_descs,
                                     bool check_declared_shapes) {
  if (input_descs.size() != graph.inputs.size()) {
    return invalid_argument("model has ", graph.inputs.size(), " inputs, got ", input_descs.size());
  }
  InferredGraph ig;
  ig.values.resize(graph.values.size());
  ig.folded.assign(graph.nodes.size(), false);
  for (std::size_t v = 0; v < graph.values.size(); ++v) {
    if (graph.values[v].is_constant()) ig.values[v] = graph.values[v].initializer;
  }
  for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
    const Value& v = graph.values[graph.inputs[i]];
    const Tensor& d = input_descs[i];
    if (v.dtype != DType::kUndefined && d.dtype() != v.dtype) {
      return invalid_argument("input '", v.name, "': element type is ", dtype_name(d.dtype()), ", expected ",
                              dtype_name(v.dtype));
    }
    if (v.shape && check_declared_shapes) SPARSIFY_RETURN_IF_ERROR(bind_shape("input '" + v.name + "'", *v.shape, d.dims(), ig.symbols));
    ig.values[graph.inputs[i]] = Tensor::shape_only(d.dtype(), d.dims());
  }
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    std::vector<const Tensor*> inputs;
    bool all_known = true;
    bool all_const = true;
    for (ValueId in : node.inputs) {
      if (in == kNoValue) {
        inputs.push_back(nullptr);
        continue;
      }
      const Tensor& t = ig.values[in];
      if (!ig.is_known(in)) all_known = false;
      if (!t.has_data()) all_const = false;
      inputs.push_back(&t);
    }
    if (!all_known) continue;  // downstream of a data-dependent shape: settled at run time
    std::vector<Tensor> outputs(node.outputs.size());
    OpContext ctx(node, graph.opset, inputs, &outputs);
    SPARSIFY_RETURN_IF_ERROR(with_node(node, node.op->prepare(ctx)));
    if (ctx.deferred()) continue;
    bool small = true;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (!ctx.has_output(i)) continue;
      if (outputs[i].dtype() == DType::kUndefined) {
        return internal_error(node_where(node), ": prepare did not set output ", i);
      }
      SPARSIFY_RETURN_IF_ERROR(check_size(node, i, outputs[i]));
      if (static_cast<std::int64_t>(outputs[i].nbytes()) > kMaxFoldBytes) small = false;
    }
    const bool shapes_only = (node.op->flags & kOpReadsShapesOnly) != 0;
    const bool foldable = (all_const || shapes_only) && small && (node.op->flags & kOpNoFold) == 0;
    if (foldable) {
      SPARSIFY_RETURN_IF_ERROR(run_node_reference(node, graph.opset, inputs, outputs));
      ig.folded[n] = true;
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (ctx.has_output(i)) ig.values[node.outputs[i]] = std::move(outputs[i]);
    }
  }
  return ig;
}

}  // namespace sparsify::engine
