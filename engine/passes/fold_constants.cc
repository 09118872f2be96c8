// Pass fold_constants: nodes that shape inference evaluated (all inputs known) become initializers.
#include <map>

#include "engine/passes/pass.h"

namespace sparsify::engine {

Status pass_fold_constants(PassState& state) {
  Graph& g = state.graph;
  SPARSIFY_ASSIGN_OR_RETURN(InferredGraph ig, infer_shapes(g, state.input_descs, state.check_declared_shapes));
  std::vector<bool> remove(g.nodes.size(), false);
  std::map<std::string, int> by_op;
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    if (!ig.folded[n]) continue;
    for (ValueId out : g.nodes[n].outputs) {
      if (out == kNoValue) continue;
      g.values[out].initializer = ig.values[out];
      g.values[out].dtype = ig.values[out].dtype();
    }
    remove[n] = true;
    ++by_op[g.nodes[n].op_type];
  }
  if (by_op.empty()) return Status();
  std::string ops;
  int total = 0;
  for (const auto& [op, count] : by_op) {
    ops += str_cat(ops.empty() ? "" : ", ", op, " x", count);
    total += count;
  }
  remove_nodes(g, remove);
  state.note("folded ", total, " nodes into constants (", ops, ")");
  return Status();
}

}  // namespace sparsify::engine
