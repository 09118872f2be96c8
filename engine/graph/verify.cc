// Kahn's algorithm over value producers, with messages that name what is undefined or cyclic.
#include "engine/graph/verify.h"

#include <queue>

namespace sparsify::engine {

Status verify_and_sort(Graph& graph) {
  const std::size_t n = graph.nodes.size();
  std::vector<std::int32_t> producer(graph.values.size(), -1);
  for (std::size_t i = 0; i < n; ++i) {
    for (ValueId out : graph.nodes[i].outputs) {
      if (out == kNoValue) continue;
      const Value& v = graph.values[out];
      if (v.is_constant() || v.is_graph_input) {
        return invalid_argument("node '", graph.nodes[i].name, "' (", graph.nodes[i].op_type, "): output '",
                                v.name, "' is also a graph input or initializer");
      }
      if (producer[out] >= 0) {
        return invalid_argument("node '", graph.nodes[i].name, "' (", graph.nodes[i].op_type, "): output '",
                                v.name, "' is already produced by node '", graph.nodes[producer[out]].name, "'");
      }
      producer[out] = static_cast<std::int32_t>(i);
    }
  }
  std::vector<int> pending(n, 0);
  std::vector<std::vector<std::int32_t>> consumers(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Node& node = graph.nodes[i];
    for (ValueId in : node.inputs) {
      if (in == kNoValue) continue;
      const Value& v = graph.values[in];
      if (producer[in] < 0 && !v.is_constant() && !v.is_graph_input) {
        return invalid_argument("node '", node.name, "' (", node.op_type, "): input '", v.name,
                                "' is not defined (not a graph input, initializer or node output)");
      }
      if (producer[in] >= 0) {
        ++pending[i];
        consumers[producer[in]].push_back(static_cast<std::int32_t>(i));
      }
    }
  }
  for (ValueId out : graph.outputs) {
    const Value& v = graph.values[out];
    if (producer[out] < 0 && !v.is_constant() && !v.is_graph_input) {
      return invalid_argument("graph output '", v.name, "' is not defined");
    }
  }
  // Min-heap on the original index keeps the model's order when it is already topological.
  std::priority_queue<std::int32_t, std::vector<std::int32_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push(static_cast<std::int32_t>(i));
  }
  std::vector<std::int32_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const std::int32_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (std::int32_t c : consumers[i]) {
      if (--pending[c] == 0) ready.push(c);
    }
  }
  if (order.size() != n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (pending[i] > 0) {
        return invalid_argument("graph has a cycle through node '", graph.nodes[i].name, "' (",
                                graph.nodes[i].op_type, ")");
      }
    }
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (std::int32_t i : order) sorted.push_back(std::move(graph.nodes[i]));
  graph.nodes = std::move(sorted);
  for (Value& v : graph.values) v.producer = -1;
  for (std::size_t i = 0; i < n; ++i) {
    for (ValueId out : graph.nodes[i].outputs) {
      if (out != kNoValue) graph.values[out].producer = static_cast<std::int32_t>(i);
    }
  }
  return Status();
}

}  // namespace sparsify::engine
