// Pass fuse_gelu: the exported exact GELU, y = (x * (1 + erf(x / sqrt(2)))) * 0.5 (five nodes:
// Div or Mul by 1/sqrt(2), Erf, Add 1, Mul x, Mul 0.5, in either operand order), becomes a Gelu
// activation epilogue on the node producing x (Add/Sub/Mul/Div, MatMul, Gemm, Conv, QLinearMatMulDequantize; the steps of
// those ops apply epilogues, with the vectorized gelu of engine/kernels/vmath).
#include <cmath>

#include "engine/ops/op_kernel.h"
#include "engine/passes/epilogue.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

bool is_scalar_const(const Graph& g, ValueId v, double want) {
  const Tensor* t = constant_of(g, v);
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->numel() != 1) return false;
  return std::fabs(t->data<float>()[0] - want) <= 1e-6 * std::fabs(want);
}

// If `n` is a binary `op` of `x` and a scalar constant `c` (either order, or only x first when
// !commutes), true.
bool binary_with_const(const Graph& g, const Node& n, const char* op, ValueId x, double c, bool commutes) {
  if (n.op_type != op || n.inputs.size() != 2) return false;
  if (n.inputs[0] == x && is_scalar_const(g, n.inputs[1], c)) return true;
  return commutes && n.inputs[1] == x && is_scalar_const(g, n.inputs[0], c);
}

// The other input of a two-input node, given one of them; kNoValue if `v` is not an input.
ValueId other_input(const Node& n, ValueId v) {
  if (n.inputs.size() != 2) return kNoValue;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return kNoValue;
}

bool accepts_epilogue(const Node& n) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "MatMul", "Gemm", "Conv", "QLinearMatMulDequantize"}) {
    if (n.op_type == op) return true;
  }
  return false;
}

}  // namespace

Status pass_fuse_gelu(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  constexpr double kSqrt2 = 1.41421356237309504880;
  for (std::size_t e = 0; e < g.nodes.size(); ++e) {
    const Node& erf = g.nodes[e];
    if (erf.op_type != "Erf" || remove[e]) continue;
    // x / sqrt(2) -> Erf
    const std::int32_t d = g.values[erf.inputs[0]].producer;
    if (d < 0 || sole_consumer(g, consumers, erf.inputs[0]) != static_cast<std::int32_t>(e)) continue;
    const Node& div = g.nodes[d];
    ValueId x = div.inputs.empty() ? kNoValue : div.inputs[0];
    bool scaled = binary_with_const(g, div, "Div", x, kSqrt2, false);
    if (!scaled && div.op_type == "Mul") {
      for (ValueId cand : div.inputs) {
        if (binary_with_const(g, div, "Mul", cand, 1.0 / kSqrt2, true)) {
          x = cand;
          scaled = true;
        }
      }
    }
    if (!scaled) continue;
    // Erf -> Add 1
    const ValueId ev = erf.outputs[0];
    const std::int32_t a = sole_consumer(g, consumers, ev);
    if (a < 0 || !binary_with_const(g, g.nodes[a], "Add", ev, 1.0, true)) continue;
    // (x * (1 + erf)) * 0.5
    const ValueId av = g.nodes[a].outputs[0];
    const std::int32_t m1 = sole_consumer(g, consumers, av);
    if (m1 < 0 || g.nodes[m1].op_type != "Mul" || other_input(g.nodes[m1], av) != x) continue;
    const ValueId m1v = g.nodes[m1].outputs[0];
    const std::int32_t m2 = sole_consumer(g, consumers, m1v);
    if (m2 < 0 || !binary_with_const(g, g.nodes[m2], "Mul", m1v, 0.5, true)) continue;
    // x must feed only this pattern, and come from a node whose steps apply epilogues.
    const std::int32_t p = g.values[x].producer;
    if (p < 0 || remove[p] || is_graph_output(g, x)) continue;
    if (consumers[x].size() != 2) continue;
    Node& prod = g.nodes[p];
    std::string why;
    if (!accepts_epilogue(prod)) why = str_cat("x comes from ", prod.op_type, ", which takes no epilogue");
    else if (prod.find_attribute(kAttrActivation) != nullptr) why = "the producer already has an activation";
    else if (prod.outputs.size() != 1) why = "the producer has several outputs";
    if (!why.empty()) {
      state.note("kept GELU at Erf '", erf.name, "': ", why);
      continue;
    }
    Attribute kind;
    kind.name = kAttrActivation;
    kind.kind = Attribute::Kind::kString;
    kind.s = fused_act_name(FusedAct::kGelu);
    set_attribute(prod, kind);
    prod.outputs[0] = g.nodes[m2].outputs[0];
    for (std::int32_t r : {d, static_cast<std::int32_t>(e), a, m1, m2}) remove[r] = true;
    if (++count <= 3) state.note(prod.op_type, " '", prod.name, "' absorbed the GELU at Erf '", erf.name, "'");
  }
  if (count > 3) state.note("... ", count, " GELUs fused in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
