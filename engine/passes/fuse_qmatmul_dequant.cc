// Pass fuse_qmatmul_dequant: QLinearMatMul -> DequantizeLinear with the same scale and zero point
// as its output quantization [-> Add of a constant float32 bias over the last axis] becomes one
// internal QLinearMatMulDequantize node with a float32 output (ops.def, matmul.cc). Exact: the
// node rounds to the 8-bit grid, dequantizes and adds in float as the three nodes did; it only
// skips writing and re-reading the 8-bit tensor and the float one in between.
#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

// Same value, or two constant scalars of one dtype and value.
bool same_scalar(const Graph& g, ValueId a, ValueId b) {
  if (a == b) return true;
  const Tensor* ta = constant_of(g, a);
  const Tensor* tb = constant_of(g, b);
  return ta != nullptr && tb != nullptr && ta->numel() == 1 && tb->numel() == 1 && ta->dtype() == tb->dtype() &&
         ta->element_as_double(0) == tb->element_as_double(0);
}

// Why `dq` cannot absorb into QLinearMatMul `op`, or "".
std::string match_dequantize(const Graph& g, const Node& op, const Node& dq) {
  if (!node_has_input(dq, 2)) return "DequantizeLinear omits the zero point";
  const Tensor* s = constant_of(g, dq.inputs[1]);
  if (s == nullptr || s->numel() != 1 || s->dtype() != DType::kFloat32) return "DequantizeLinear scale is not a constant float32 scalar";
  if (!same_scalar(g, dq.inputs[1], op.inputs[6]) || !same_scalar(g, dq.inputs[2], op.inputs[7])) {
    return "DequantizeLinear scale/zero point differ from the QLinearMatMul output's";
  }
  return "";
}

// The bias vector [n] when `add` adds a constant float32 over the last axis of `x` (n columns).
std::string match_bias(const Graph& g, const Node& add, ValueId x, std::int64_t n, ValueId* bias) {
  if (add.inputs.size() != 2) return "Add does not have two inputs";
  const ValueId other = add.inputs[0] == x ? add.inputs[1] : add.inputs[0];
  const Tensor* c = constant_of(g, other);
  if (c == nullptr || c->dtype() != DType::kFloat32) return "the other Add input is not a constant float32";
  // Rank 1 only: a higher-rank constant could broadcast the sum beyond the product's shape.
  if (c->rank() != 1 || c->numel() != n) return str_cat("constant ", c->describe(), " is not a float32 [", n, "] bias");
  *bias = other;
  return "";
}

}  // namespace

Status pass_fuse_qmatmul_dequant(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0, biased = 0;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& op = g.nodes[i];
    if (op.op_type != "QLinearMatMul" || op.outputs.empty()) continue;
    const std::int32_t d = sole_consumer(g, consumers, op.outputs[0]);
    if (d < 0 || g.nodes[d].op_type != "DequantizeLinear") continue;
    const Node& dq = g.nodes[d];
    std::string why = match_dequantize(g, op, dq);
    const Tensor* w = constant_of(g, op.inputs[3]);
    if (why.empty() && (w == nullptr || w->rank() != 2)) why = "weight is not a constant 2-D tensor";
    if (!why.empty()) {
      state.note("kept QLinearMatMul '", op.name, "' and DequantizeLinear '", dq.name, "' apart: ", why);
      continue;
    }
    ValueId out = dq.outputs[0], bias = kNoValue;
    const std::int32_t a = sole_consumer(g, consumers, out);
    if (a >= 0 && g.nodes[a].op_type == "Add") {
      const std::string no_bias = match_bias(g, g.nodes[a], out, w->dim(1), &bias);
      if (no_bias.empty()) {
        out = g.nodes[a].outputs[0];
        remove[a] = true;
        ++biased;
      } else {
        state.note("QLinearMatMul '", op.name, "': Add '", g.nodes[a].name, "' stays separate: ", no_bias);
      }
    }
    remove[d] = true;
    op.op_type = "QLinearMatMulDequantize";
    op.op = find_op(op.op_type);
    if (bias != kNoValue) op.inputs.push_back(bias);
    op.outputs = {out};
    if (++count <= 3) {
      state.note("QLinearMatMulDequantize '", op.name, "' replaces QLinearMatMul/DequantizeLinear",
                 bias != kNoValue ? "/bias Add" : "", " (float32 output, exact)");
    }
  }
  if (count > 3) state.note("... ", count, " QLinearMatMul outputs dequantized in place in all (", biased, " with their bias Add)");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
