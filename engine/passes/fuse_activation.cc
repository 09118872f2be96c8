// Pass fuse_activation: act(op(x)) for op in Conv/Gemm/MatMul (float32 constant weight) and act in
// Relu/Clip/LeakyRelu/Sigmoid/Tanh/HardSigmoid becomes op with an activation epilogue.
#include <cfloat>

#include "engine/passes/epilogue.h"
#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

float attr_float_or(const Node& n, const char* name, float fallback) {
  const Attribute* a = n.find_attribute(name);
  return a != nullptr ? a->f : fallback;
}

// Activation parameters of `act`; false (with `why`) when Clip bounds are not constants.
bool activation_params(const Graph& g, const Node& act, std::vector<float>* params, std::string* why) {
  if (act.op_type == "Clip") {
    float lo = attr_float_or(act, "min", -FLT_MAX), hi = attr_float_or(act, "max", FLT_MAX);
    for (std::size_t i = 1; i <= 2; ++i) {
      if (!node_has_input(act, i)) continue;
      const Tensor* t = constant_of(g, act.inputs[i]);
      if (t == nullptr || t->dtype() != DType::kFloat32 || t->numel() != 1) {
        *why = "Clip bound is not a float32 constant scalar";
        return false;
      }
      (i == 1 ? lo : hi) = t->data<float>()[0];
    }
    *params = {lo, hi};
  } else if (act.op_type == "LeakyRelu") {
    *params = {attr_float_or(act, "alpha", 0.01f)};
  } else if (act.op_type == "HardSigmoid") {
    *params = {attr_float_or(act, "alpha", 0.2f), attr_float_or(act, "beta", 0.5f)};
  }
  return true;
}

}  // namespace

Status pass_fuse_activation(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (std::size_t a = 0; a < g.nodes.size(); ++a) {
    const Node& act = g.nodes[a];
    if (fused_act_from_op(act.op_type) == FusedAct::kNone || act.inputs.empty()) continue;
    const ValueId x = act.inputs[0];
    const std::int32_t p = g.values[x].producer;
    if (p < 0 || remove[p]) continue;
    Node& op = g.nodes[p];
    if (op.op_type != "Conv" && op.op_type != "Gemm" && op.op_type != "MatMul") continue;
    if (sole_consumer(g, consumers, x) != static_cast<std::int32_t>(a)) continue;
    const Tensor* w = constant_of(g, op.inputs[1]);
    std::string why;
    std::vector<float> params;
    if (w == nullptr || w->dtype() != DType::kFloat32) why = "weight is not a float32 constant";
    else if (op.find_attribute(kAttrActivation) != nullptr) why = "already has an activation";
    else activation_params(g, act, &params, &why);
    if (!why.empty()) {
      state.note("kept ", act.op_type, " '", act.name, "' after ", op.op_type, " '", op.name, "': ", why);
      continue;
    }
    Attribute kind;
    kind.name = kAttrActivation;
    kind.kind = Attribute::Kind::kString;
    kind.s = act.op_type;
    set_attribute(op, kind);
    if (!params.empty()) {
      Attribute pa;
      pa.name = kAttrActivationParams;
      pa.kind = Attribute::Kind::kFloats;
      pa.floats = params;
      set_attribute(op, pa);
    }
    op.outputs[0] = act.outputs[0];
    remove[a] = true;
    if (++count <= 3) state.note(op.op_type, " '", op.name, "' absorbed ", act.op_type, " '", act.name, "'");
  }
  if (count > 3) state.note("... ", count, " activations fused in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
