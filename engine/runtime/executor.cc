// Reference execution: per node prepare (settles data-dependent shapes), allocate, run, free early.
#include "engine/runtime/executor.h"

namespace sparsify::engine {

StatusOr<ReferenceExecutor> ReferenceExecutor::compile(std::shared_ptr<const Graph> graph,
                                                       const std::vector<Tensor>& input_descs,
                                                       bool check_declared_shapes) {
  ReferenceExecutor ex;
  SPARSIFY_ASSIGN_OR_RETURN(ex.inferred_, infer_shapes(*graph, input_descs, check_declared_shapes));
  ex.last_use_.assign(graph->values.size(), -1);
  for (std::size_t n = 0; n < graph->nodes.size(); ++n) {
    for (ValueId in : graph->nodes[n].inputs) {
      if (in != kNoValue) ex.last_use_[in] = static_cast<std::int32_t>(n);
    }
  }
  for (ValueId out : graph->outputs) ex.last_use_[out] = static_cast<std::int32_t>(graph->nodes.size());
  ex.graph_ = std::move(graph);
  return ex;
}

StatusOr<std::vector<Tensor>> ReferenceExecutor::run(const std::vector<Tensor>& inputs) const {
  const Graph& g = *graph_;
  if (inputs.size() != g.inputs.size()) {
    return invalid_argument("model has ", g.inputs.size(), " inputs, got ", inputs.size());
  }
  std::vector<Tensor> slots(g.values.size());
  for (std::size_t v = 0; v < g.values.size(); ++v) {
    if (inferred_.values[v].has_data()) slots[v] = inferred_.values[v];
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& want = inferred_.values[g.inputs[i]];
    const std::string& name = g.values[g.inputs[i]].name;
    if (inputs[i].dtype() != want.dtype() || inputs[i].dims() != want.dims()) {
      return invalid_argument("input '", name, "' is ", inputs[i].describe(), ", compiled for ", want.describe());
    }
    if (!inputs[i].has_data()) return invalid_argument("input '", name, "' has no contents");
    slots[g.inputs[i]] = inputs[i];
  }
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    if (inferred_.folded[n]) continue;
    const Node& node = g.nodes[n];
    std::vector<const Tensor*> in;
    in.reserve(node.inputs.size());
    for (ValueId id : node.inputs) in.push_back(id == kNoValue ? nullptr : &slots[id]);
    std::vector<Tensor> outs;
    SPARSIFY_RETURN_IF_ERROR(run_node_reference(node, g.opset, in, outs));
    for (std::size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] != kNoValue) slots[node.outputs[i]] = std::move(outs[i]);
    }
    for (ValueId id : node.inputs) {  // free what no later node reads
      if (id != kNoValue && last_use_[id] == static_cast<std::int32_t>(n) && !inferred_.values[id].has_data()) {
        slots[id] = Tensor();
      }
    }
  }
  std::vector<Tensor> outputs;
  for (ValueId out : g.outputs) outputs.push_back(slots[out]);
  return outputs;
}

}  // namespace sparsify::engine
