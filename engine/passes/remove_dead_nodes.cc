// Pass remove_dead_nodes: a node is live if one of its outputs is a graph output or read by a live node.
#include "engine/passes/pass.h"

namespace sparsify::engine {

Status pass_remove_dead_nodes(PassState& state) {
  Graph& g = state.graph;
  std::vector<bool> live_value(g.values.size(), false);
  for (ValueId out : g.outputs) live_value[out] = true;
  std::vector<bool> remove(g.nodes.size(), true);
  for (std::size_t n = g.nodes.size(); n-- > 0;) {  // nodes are topologically sorted
    const Node& node = g.nodes[n];
    bool live = false;
    for (ValueId out : node.outputs) live = live || (out != kNoValue && live_value[out]);
    if (!live) continue;
    remove[n] = false;
    for (ValueId in : node.inputs) {
      if (in != kNoValue) live_value[in] = true;
    }
  }
  std::string names;
  int count = 0;
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    if (!remove[n]) continue;
    if (++count <= 8) names += str_cat(names.empty() ? "" : ", ", g.nodes[n].op_type, " '", g.nodes[n].name, "'");
  }
  if (count == 0) return Status();
  remove_nodes(g, remove);
  state.note("removed ", count, " dead nodes: ", names, count > 8 ? ", ..." : "");
  return Status();
}

}  // namespace sparsify::engine
