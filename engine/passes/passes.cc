// The pass pipeline: expands passes.def in order over a private copy of the graph.
#include "engine/passes/passes.h"

namespace sparsify::engine {

const std::vector<PassInfo>& all_passes() {
  static const std::vector<PassInfo> kPasses = {
#define SPARSIFY_PASS(name, required, description, fn) {#name, required, description, fn},
#include "engine/passes/passes.def"
#undef SPARSIFY_PASS
  };
  return kPasses;
}

StatusOr<PassState> run_passes(const Graph& graph, const std::vector<Tensor>& input_descs, bool check_declared_shapes,
                               bool optimize) {
  PassState state;
  state.graph = graph;
  state.input_descs = input_descs;
  state.check_declared_shapes = check_declared_shapes;
  for (const PassInfo& p : all_passes()) {
    if (!optimize && !p.required) continue;
    state.current_pass = p.name;
    const std::size_t before = state.graph.nodes.size();
    Status s = p.fn(state);
    if (!s.ok()) return s;  // errors name the node; shape inference errors are the op's own
    if (state.graph.nodes.size() != before) {
      state.note(before, " -> ", state.graph.nodes.size(), " nodes");
    }
  }
  state.current_pass = "";
  return state;
}

}  // namespace sparsify::engine
