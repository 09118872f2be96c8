// Pass fold_transpose_matmul: Transposes feeding a MatMul of two activations, and a Transpose of
// its output, become perm attributes of the MatMul (kAttrPermA/B/Y), so that the batched MatMul
// step reads and writes the heads in place (attention: Q [0,2,1,3], K^T [0,2,3,1], V [0,2,1,3],
// output [0,2,1,3]). Only layouts that step can address are folded: A and Y must keep their last
// axis innermost (unit column stride); B may also be stored transposed (unit row stride).
// Pass fuse_matmul_scale (also here): Div or Mul by a constant scalar after such a MatMul
// (attention's 1/sqrt(d)) becomes its kAttrAlpha.
#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

// The Transpose's perm when it is an explicit, valid permutation; else empty (left alone).
std::vector<std::int64_t> perm_of(const Node& t) {
  const Attribute* a = t.find_attribute("perm");
  if (a == nullptr) return {};
  std::vector<bool> seen(a->ints.size(), false);
  for (std::int64_t v : a->ints) {
    if (v < 0 || v >= static_cast<std::int64_t>(a->ints.size()) || seen[static_cast<std::size_t>(v)]) return {};
    seen[static_cast<std::size_t>(v)] = true;
  }
  return a->ints;
}

void set_perm(Node& n, const char* name, std::vector<std::int64_t> perm) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::kInts;
  a.ints = std::move(perm);
  set_attribute(n, a);
}

}  // namespace

Status pass_fold_transpose_matmul(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (std::size_t m = 0; m < g.nodes.size(); ++m) {
    Node& mm = g.nodes[m];
    if (mm.op_type != "MatMul" || mm.inputs.size() != 2) continue;
    if (constant_of(g, mm.inputs[0]) != nullptr || constant_of(g, mm.inputs[1]) != nullptr) continue;
    if (mm.find_attribute(kAttrPermA) || mm.find_attribute(kAttrPermB) || mm.find_attribute(kAttrPermY)) continue;
    std::string folded;
    for (std::size_t slot = 0; slot < 2; ++slot) {
      const ValueId v = mm.inputs[slot];
      const std::int32_t t = g.values[v].producer;
      if (t < 0 || remove[t] || g.nodes[t].op_type != "Transpose") continue;
      if (sole_consumer(g, consumers, v) != static_cast<std::int32_t>(m)) continue;
      const std::vector<std::int64_t> perm = perm_of(g.nodes[t]);
      const auto r = static_cast<std::int64_t>(perm.size());
      if (r < 2) continue;
      // A: its last axis must be the input's last (unit stride); B: last or second to last.
      const bool ok = perm[r - 1] == r - 1 || (slot == 1 && perm[r - 2] == r - 1);
      if (!ok) continue;
      set_perm(mm, slot == 0 ? kAttrPermA : kAttrPermB, perm);
      mm.inputs[slot] = g.nodes[t].inputs[0];
      remove[t] = true;
      folded += slot == 0 ? " A" : " B";
    }
    const ValueId y = mm.outputs[0];
    const std::int32_t t = sole_consumer(g, consumers, y);
    if (t >= 0 && g.nodes[t].op_type == "Transpose" && !is_graph_output(g, y)) {
      const std::vector<std::int64_t> perm = perm_of(g.nodes[t]);
      const auto r = static_cast<std::int64_t>(perm.size());
      if (r >= 2 && perm[r - 1] == r - 1) {
        set_perm(mm, kAttrPermY, perm);
        mm.outputs[0] = g.nodes[t].outputs[0];
        remove[t] = true;
        folded += " Y";
      }
    }
    if (!folded.empty() && ++count <= 3) state.note("MatMul '", mm.name, "' absorbed the Transposes of", folded);
  }
  if (count > 3) state.note("... ", count, " MatMuls absorbed Transposes in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

Status pass_fuse_matmul_scale(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (std::size_t m = 0; m < g.nodes.size(); ++m) {
    Node& mm = g.nodes[m];
    if (mm.op_type != "MatMul" || mm.inputs.size() != 2 || mm.find_attribute(kAttrAlpha) != nullptr) continue;
    if (constant_of(g, mm.inputs[0]) != nullptr || constant_of(g, mm.inputs[1]) != nullptr) continue;
    if (mm.find_attribute(kAttrActivation) != nullptr || mm.find_attribute(kAttrMatMulBias) != nullptr) continue;
    const ValueId y = mm.outputs[0];
    const std::int32_t s = sole_consumer(g, consumers, y);
    if (s < 0 || is_graph_output(g, y)) continue;
    const Node& op = g.nodes[s];
    if ((op.op_type != "Div" && op.op_type != "Mul") || op.inputs.size() != 2) continue;
    const bool div = op.op_type == "Div";
    if (div && op.inputs[0] != y) continue;  // c / y is not a scale
    const ValueId c = op.inputs[0] == y ? op.inputs[1] : op.inputs[0];
    const Tensor* t = constant_of(g, c);
    if (t == nullptr || t->dtype() != DType::kFloat32 || t->numel() != 1) continue;
    const float v = t->data<float>()[0];
    if (div && v == 0.0f) continue;
    Attribute a;
    a.name = kAttrAlpha;
    a.kind = Attribute::Kind::kFloat;
    a.f = div ? 1.0f / v : v;
    set_attribute(mm, a);
    mm.outputs[0] = op.outputs[0];
    remove[s] = true;
    if (++count <= 3) state.note("MatMul '", mm.name, "' absorbed ", op.op_type, " '", op.name, "' (alpha ", a.f, ")");
  }
  if (count > 3) state.note("... ", count, " scales folded in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
