// Engine facade: import, per-shape compile cache, named and positional runs.
#include "engine/engine.h"

#include "engine/graph/onnx_import.h"

namespace sparsify::engine {

StatusOr<Engine> Engine::load_file(const std::string& path) {
  SPARSIFY_ASSIGN_OR_RETURN(Graph g, import_onnx_file(path));
  return Engine(std::make_shared<const Graph>(std::move(g)));
}

StatusOr<Engine> Engine::load_bytes(std::string_view bytes, const std::string& base_dir) {
  SPARSIFY_ASSIGN_OR_RETURN(Graph g, import_onnx_bytes(bytes, base_dir, "model bytes"));
  return Engine(std::make_shared<const Graph>(std::move(g)));
}

std::vector<std::string> Engine::input_names() const {
  std::vector<std::string> names;
  for (ValueId id : graph_->inputs) names.push_back(graph_->values[id].name);
  return names;
}

std::vector<std::string> Engine::output_names() const {
  std::vector<std::string> names;
  for (ValueId id : graph_->outputs) names.push_back(graph_->values[id].name);
  return names;
}

StatusOr<const ReferenceExecutor*> Engine::compile(const std::vector<Tensor>& input_descs) {
  std::vector<std::pair<DType, Dims>> key;
  for (const Tensor& t : input_descs) key.emplace_back(t.dtype(), t.dims());
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second.get();
  SPARSIFY_ASSIGN_OR_RETURN(ReferenceExecutor ex, ReferenceExecutor::compile(graph_, input_descs, check_declared_shapes_));
  auto owned = std::make_unique<ReferenceExecutor>(std::move(ex));
  const ReferenceExecutor* p = owned.get();
  cache_.emplace(std::move(key), std::move(owned));
  return p;
}

StatusOr<std::vector<Tensor>> Engine::run(const std::vector<Tensor>& inputs) {
  SPARSIFY_ASSIGN_OR_RETURN(const ReferenceExecutor* ex, compile(inputs));
  return ex->run(inputs);
}

StatusOr<std::map<std::string, Tensor>> Engine::run(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> ordered;
  for (ValueId id : graph_->inputs) {
    const std::string& name = graph_->values[id].name;
    auto it = inputs.find(name);
    if (it == inputs.end()) return not_found("input '", name, "' was not given");
    ordered.push_back(it->second);
  }
  if (inputs.size() != ordered.size()) {
    for (const auto& kv : inputs) {
      if (graph_->find_value(kv.first) == kNoValue || !graph_->values[graph_->find_value(kv.first)].is_graph_input) {
        return not_found("'", kv.first, "' is not an input of the model");
      }
    }
  }
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Tensor> outs, run(ordered));
  std::map<std::string, Tensor> named;
  for (std::size_t i = 0; i < outs.size(); ++i) named.emplace(graph_->values[graph_->outputs[i]].name, outs[i]);
  return named;
}

}  // namespace sparsify::engine
