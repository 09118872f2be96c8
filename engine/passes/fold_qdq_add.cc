// Pass fold_qdq_add: the residual Add of a QDQ model,
//   DequantizeLinear(aq) [or float a] + DequantizeLinear(bq) [or float b] -> [Relu] -> QuantizeLinear
// becomes one internal QdqAdd node (ops/quant.cc) reading the 8-bit tensors and writing the
// quantized sum (output 1) and, only when something else still reads it, the float sum (output 0).
// Exact: QdqAdd rounds as the nodes it replaces. Unread DequantizeLinear nodes are then dropped
// by remove_dead_nodes.
#include <array>

#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

const Tensor* scalar_const(const Graph& g, ValueId id) {
  const Tensor* t = constant_of(g, id);
  return t != nullptr && t->numel() == 1 ? t : nullptr;
}

// uint8 only: that is what qu8_qdq_add__runtime runs (an int8 QdqAdd would fall to the reference).
bool is_u8(DType d) { return d == DType::kUInt8; }

// The (x, scale, zero point) QdqAdd operand for Add input `v`: the DequantizeLinear's inputs when
// `v` is a per-tensor uint8 DequantizeLinear output, else (v, none, none).
std::array<ValueId, 3> operand(const Graph& g, ValueId v, bool* dequantized) {
  *dequantized = false;
  const std::int32_t p = g.values[v].producer;
  if (p < 0) return {v, kNoValue, kNoValue};
  const Node& dq = g.nodes[p];
  if (dq.op_type != "DequantizeLinear" || !node_has_input(dq, 2)) return {v, kNoValue, kNoValue};
  const Tensor* s = scalar_const(g, dq.inputs[1]);
  const Tensor* z = scalar_const(g, dq.inputs[2]);
  if (s == nullptr || z == nullptr || !is_u8(z->dtype()) || s->dtype() != DType::kFloat32) return {v, kNoValue, kNoValue};
  *dequantized = true;
  return {dq.inputs[0], dq.inputs[1], dq.inputs[2]};
}

bool is_quantize_u8(const Graph& g, const Node& q) {
  if (q.op_type != "QuantizeLinear" || !node_has_input(q, 2)) return false;
  const Tensor* s = scalar_const(g, q.inputs[1]);
  const Tensor* z = scalar_const(g, q.inputs[2]);
  return s != nullptr && z != nullptr && is_u8(z->dtype()) && s->dtype() == DType::kFloat32;
}

}  // namespace

Status pass_fold_qdq_add(PassState& state) {
  Graph& g = state.graph;
  SPARSIFY_ASSIGN_OR_RETURN(InferredGraph ig, infer_shapes(g, state.input_descs, state.check_declared_shapes));
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0, kept = 0;
  auto keep = [&](const Node& add, const std::string& why) {
    if (++kept <= 3) state.note("kept Add '", add.name, "' in float: ", why);
  };
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    Node& add = g.nodes[n];
    if (add.op_type != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    bool dq_a = false, dq_b = false;
    const auto a = operand(g, add.inputs[0], &dq_a);
    const auto b = operand(g, add.inputs[1], &dq_b);
    if (!dq_a && !dq_b) continue;
    const Tensor& da = ig.values[add.inputs[0]];
    const Tensor& db = ig.values[add.inputs[1]];
    if (da.dtype() != DType::kFloat32 || db.dtype() != DType::kFloat32 || da.dims() != db.dims()) {
      keep(add, str_cat("operands ", da.describe(), " and ", db.describe(), " are not float32 of one shape (no broadcasting)"));
      continue;
    }
    ValueId y = add.outputs[0];
    std::int32_t relu = sole_consumer(g, consumers, y);
    if (relu >= 0 && g.nodes[relu].op_type == "Relu") y = g.nodes[relu].outputs[0];
    else relu = -1;
    std::int32_t quantize = -1;
    int others = is_graph_output(g, y) ? 1 : 0;
    for (std::int32_t c : consumers[y]) {
      if (quantize < 0 && is_quantize_u8(g, g.nodes[c])) quantize = c;
      else ++others;
    }
    if (quantize < 0 && relu < 0 && !(dq_a && dq_b)) {
      keep(add, "neither a Relu, a QuantizeLinear nor two dequantized operands to fold");
      continue;
    }
    Attribute r;
    r.name = "relu";
    r.kind = Attribute::Kind::kInt;
    r.i = relu >= 0 ? 1 : 0;
    add.attributes.clear();
    set_attribute(add, r);
    add.op_type = "QdqAdd";
    add.domain = "sparsify";
    add.op = find_op(add.op_type);
    const ValueId yq = quantize >= 0 ? g.nodes[quantize].outputs[0] : kNoValue;
    add.inputs = {a[0], a[1], a[2], b[0], b[1], b[2], quantize >= 0 ? g.nodes[quantize].inputs[1] : kNoValue,
                  quantize >= 0 ? g.nodes[quantize].inputs[2] : kNoValue};
    add.outputs = {others > 0 ? y : kNoValue};
    if (yq != kNoValue) add.outputs.push_back(yq);
    if (relu >= 0) remove[relu] = true;
    if (quantize >= 0) remove[quantize] = true;
    if (++count <= 3) {
      state.note("QdqAdd '", add.name, "' replaces ", dq_a && dq_b ? "2" : "1", " DequantizeLinear/Add", relu >= 0 ? "/Relu" : "",
                 quantize >= 0 ? "/QuantizeLinear" : "", others > 0 ? " (float sum still read)" : "");
    }
  }
  if (count > 3) state.note("... ", count, " QDQ Adds folded in all");
  if (kept > 3) state.note("... ", kept, " Adds with a dequantized operand kept in float in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
