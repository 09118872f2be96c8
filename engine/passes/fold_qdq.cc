// Pass fold_qdq: the QDQ form of a quantized Conv or MatMul
//   DequantizeLinear(xq) -> Conv/MatMul(., DequantizeLinear(wq) [, DequantizeLinear(bq)]) -> QuantizeLinear
// becomes QLinearConv / QLinearMatMul on the integer tensors. Exact in real arithmetic when the
// bias is int32 with scale x_scale * w_scale and zero point 0, which is the form exporters emit;
// anything else is left alone and logged.
// Also DequantizeLinear(xq) -> MaxPool -> QuantizeLinear with the same scale and zero point
// becomes MaxPool on xq: max commutes with the monotonic dequantization, so it is exact.
#include <cmath>

#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

const Tensor* scalar_const(const Graph& g, ValueId id) {
  const Tensor* t = constant_of(g, id);
  return t != nullptr && t->numel() == 1 ? t : nullptr;
}

bool is_int8(DType d) { return d == DType::kInt8 || d == DType::kUInt8; }

// The DequantizeLinear node producing `id`, or nullptr.
const Node* dq_producer(const Graph& g, ValueId id) {
  if (id == kNoValue || g.values[id].producer < 0) return nullptr;
  const Node& n = g.nodes[g.values[id].producer];
  return n.op_type == "DequantizeLinear" ? &n : nullptr;
}

std::int64_t axis_of(const Node& n, std::int64_t fallback) {
  const Attribute* a = n.find_attribute("axis");
  return a != nullptr ? a->i : fallback;
}

// Inputs for the integer node, or a reason in *why.
struct QdqMatch {
  std::vector<ValueId> inputs;  // QLinear* input order
  ValueId out = kNoValue;
  std::int32_t quantize = -1;
};

std::string match(const Graph& g, const std::vector<std::vector<std::int32_t>>& consumers, const Node& op, QdqMatch* m) {
  const Node* dx = dq_producer(g, op.inputs[0]);
  const Node* dw = dq_producer(g, op.inputs[1]);
  if (dx == nullptr || dw == nullptr) return "inputs are not both DequantizeLinear";
  const std::int32_t q = sole_consumer(g, consumers, op.outputs[0]);
  if (q < 0 || g.nodes[q].op_type != "QuantizeLinear") return "output does not go to a single QuantizeLinear";
  const Node& qy = g.nodes[q];
  if (!node_has_input(*dx, 2) || !node_has_input(qy, 2)) return "zero points are omitted";
  const Tensor* sx = scalar_const(g, dx->inputs[1]);
  const Tensor* zx = scalar_const(g, dx->inputs[2]);
  const Tensor* sy = scalar_const(g, qy.inputs[1]);
  const Tensor* zy = scalar_const(g, qy.inputs[2]);
  if (sx == nullptr || zx == nullptr || sy == nullptr || zy == nullptr) return "activation scales or zero points are not constant scalars";
  if (!is_int8(zx->dtype()) || !is_int8(zy->dtype())) return "activations are not 8-bit";
  const Tensor* wq = constant_of(g, dw->inputs[0]);
  const Tensor* sw = constant_of(g, dw->inputs[1]);
  const Tensor* zw = node_has_input(*dw, 2) ? constant_of(g, dw->inputs[2]) : nullptr;
  if (wq == nullptr || sw == nullptr || !is_int8(wq->dtype())) return "weight is not a constant 8-bit tensor";
  if (node_has_input(*dw, 2) && zw == nullptr) return "weight zero point is not constant";
  const bool conv = op.op_type == "Conv";
  if (sw->numel() != 1) {
    if (!conv) return "per-column weight scales are not supported for QLinearMatMul";
    const std::int64_t axis = axis_of(*dw, 1);
    if (axis != 0 && axis != -static_cast<std::int64_t>(wq->rank())) return "weight scales are not per output channel (axis 0)";
  }
  ValueId zw_id = node_has_input(*dw, 2) ? dw->inputs[2] : kNoValue;
  if (zw_id == kNoValue) return "weight zero point is omitted";
  m->inputs = {dx->inputs[0], dx->inputs[1], dx->inputs[2], dw->inputs[0], dw->inputs[1], zw_id, qy.inputs[1], qy.inputs[2]};
  if (node_has_input(op, 2)) {
    if (!conv) return "MatMul has a bias";
    const Node* db = dq_producer(g, op.inputs[2]);
    if (db == nullptr) return "bias is not DequantizeLinear of int32";
    const Tensor* bq = constant_of(g, db->inputs[0]);
    const Tensor* sb = constant_of(g, db->inputs[1]);
    const Tensor* zb = node_has_input(*db, 2) ? constant_of(g, db->inputs[2]) : nullptr;
    if (bq == nullptr || bq->dtype() != DType::kInt32 || sb == nullptr) return "bias is not a constant int32 tensor";
    if (zb != nullptr) {
      for (std::int64_t i = 0; i < zb->numel(); ++i) {
        if (zb->element_as_int(i) != 0) return "bias zero point is not 0";
      }
    }
    const double xs = sx->element_as_double(0);
    for (std::int64_t i = 0; i < bq->numel(); ++i) {
      const double want = xs * sw->element_as_double(sw->numel() == 1 ? 0 : i);
      const double got = sb->element_as_double(sb->numel() == 1 ? 0 : i);
      if (std::abs(got - want) > 1e-6 * std::abs(want)) return str_cat("bias scale ", got, " is not x_scale * w_scale = ", want);
    }
    m->inputs.push_back(db->inputs[0]);
  }
  m->out = qy.outputs[0];
  m->quantize = q;
  return "";
}

// DQ(xq) -> MaxPool -> Q with equal scalar parameters: the MaxPool input and output, or a reason.
std::string match_pool(const Graph& g, const std::vector<std::vector<std::int32_t>>& consumers, const Node& pool,
                       ValueId* xq, ValueId* yq, std::int32_t* quantize) {
  const Node* dx = dq_producer(g, pool.inputs[0]);
  if (dx == nullptr) return "input is not DequantizeLinear";
  if (pool.outputs.size() > 1 && pool.outputs[1] != kNoValue) return "the Indices output is used";
  const std::int32_t q = sole_consumer(g, consumers, pool.outputs[0]);
  if (q < 0 || g.nodes[q].op_type != "QuantizeLinear") return "output does not go to a single QuantizeLinear";
  const Node& qy = g.nodes[q];
  if (!node_has_input(*dx, 2) || !node_has_input(qy, 2)) return "zero points are omitted";
  const Tensor* sx = scalar_const(g, dx->inputs[1]);
  const Tensor* zx = scalar_const(g, dx->inputs[2]);
  const Tensor* sy = scalar_const(g, qy.inputs[1]);
  const Tensor* zy = scalar_const(g, qy.inputs[2]);
  if (sx == nullptr || zx == nullptr || sy == nullptr || zy == nullptr) return "scales or zero points are not constant scalars";
  // uint8 only: u8_max_pool2d_rows__runtime runs it (int8 would fall to the reference MaxPool).
  if (zx->dtype() != DType::kUInt8 || zy->dtype() != DType::kUInt8) return "activations are not uint8";
  if (sx->element_as_double(0) != sy->element_as_double(0) || zx->element_as_int(0) != zy->element_as_int(0)) {
    return str_cat("scale/zero point differ (", sx->element_as_double(0), "/", zx->element_as_int(0), " in, ",
                   sy->element_as_double(0), "/", zy->element_as_int(0), " out)");
  }
  *xq = dx->inputs[0];
  *yq = qy.outputs[0];
  *quantize = q;
  return "";
}

}  // namespace

Status pass_fold_qdq(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    Node& op = g.nodes[n];
    if (op.op_type != "Conv" && op.op_type != "MatMul") continue;
    if (dq_producer(g, op.inputs[0]) == nullptr && dq_producer(g, op.inputs[1]) == nullptr) continue;
    QdqMatch m;
    const std::string why = match(g, consumers, op, &m);
    if (!why.empty() || remove[m.quantize]) {
      state.note("kept QDQ ", op.op_type, " '", op.name, "' in float: ", why);
      continue;
    }
    const bool conv = op.op_type == "Conv";
    op.op_type = conv ? "QLinearConv" : "QLinearMatMul";
    op.op = find_op(op.op_type);
    op.inputs = m.inputs;
    op.outputs = {m.out};
    remove[m.quantize] = true;
    if (++count <= 3) state.note(op.op_type, " '", op.name, "' replaces its DequantizeLinear/", conv ? "Conv" : "MatMul", "/QuantizeLinear");
  }
  if (count > 3) state.note("... ", count, " quantized ops folded in all");
  if (count > 0) remove_nodes(g, remove);

  // MaxPool between a DequantizeLinear and a QuantizeLinear of the same parameters runs on the
  // 8-bit values (the DequantizeLinear, if now unread, is dropped by remove_dead_nodes).
  const auto pool_consumers = value_consumers(g);
  std::vector<bool> drop(g.nodes.size(), false);
  int pools = 0;
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    Node& pool = g.nodes[n];
    if (pool.op_type != "MaxPool" || dq_producer(g, pool.inputs[0]) == nullptr) continue;
    ValueId xq = kNoValue, yq = kNoValue;
    std::int32_t q = -1;
    const std::string why = match_pool(g, pool_consumers, pool, &xq, &yq, &q);
    if (!why.empty() || drop[q]) {
      state.note("kept MaxPool '", pool.name, "' in float: ", why);
      continue;
    }
    pool.inputs[0] = xq;
    pool.outputs = {yq};
    drop[q] = true;
    ++pools;
    state.note("MaxPool '", pool.name, "' runs on the 8-bit values (its DequantizeLinear/QuantizeLinear have equal parameters)");
  }
  if (pools > 0) remove_nodes(g, drop);
  return Status();
}

}  // namespace sparsify::engine
