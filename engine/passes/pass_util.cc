// Graph editing helpers shared by the passes.
#include "engine/passes/pass.h"

namespace sparsify::engine {

std::vector<std::vector<std::int32_t>> value_consumers(const Graph& graph) {
  std::vector<std::vector<std::int32_t>> consumers(graph.values.size());
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    for (ValueId in : graph.nodes[n].inputs) {
      if (in != kNoValue) consumers[in].push_back(static_cast<std::int32_t>(n));
    }
  }
  return consumers;
}

bool is_graph_output(const Graph& graph, ValueId id) {
  for (ValueId out : graph.outputs) {
    if (out == id) return true;
  }
  return false;
}

std::int32_t sole_consumer(const Graph& graph, const std::vector<std::vector<std::int32_t>>& consumers, ValueId id) {
  if (id == kNoValue || consumers[id].size() != 1 || is_graph_output(graph, id)) return -1;
  return consumers[id][0];
}

const Tensor* constant_of(const Graph& graph, ValueId id) {
  if (id == kNoValue || !graph.values[id].is_constant()) return nullptr;
  return &graph.values[id].initializer;
}

ValueId add_initializer(Graph& graph, const std::string& base, Tensor value) {
  std::string name = base;
  for (int k = 1; graph.find_value(name) != kNoValue; ++k) name = str_cat(base, "_", k);
  const ValueId id = graph.intern_value(name);
  graph.values[id].dtype = value.dtype();
  graph.values[id].initializer = std::move(value);
  return id;
}

void set_attribute(Node& node, Attribute attr) {
  for (Attribute& a : node.attributes) {
    if (a.name == attr.name) {
      a = std::move(attr);
      return;
    }
  }
  node.attributes.push_back(std::move(attr));
}

void remove_nodes(Graph& graph, const std::vector<bool>& remove) {
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!remove[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  for (Value& v : graph.values) v.producer = -1;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    for (ValueId out : graph.nodes[n].outputs) {
      if (out != kNoValue) graph.values[out].producer = static_cast<std::int32_t>(n);
    }
  }
}

}  // namespace sparsify::engine
