// Pass fuse_conv_bn: Conv -> BatchNormalization (inference form) becomes one Conv with
//   s = scale / sqrt(var + eps),  W'[o] = W[o] * s[o],  B'[o] = (B[o] - mean[o]) * s[o] + beta[o].
#include <cmath>

#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

// Why Conv `conv` and BatchNormalization `bn` cannot be folded, or "" when they can.
std::string blocker(const Graph& g, const Node& conv, const Node& bn) {
  if (bn.outputs.size() > 1) {
    for (std::size_t i = 1; i < bn.outputs.size(); ++i) {
      if (bn.outputs[i] != kNoValue) return "training-mode outputs are used";
    }
  }
  const Tensor* w = constant_of(g, conv.inputs[1]);
  if (w == nullptr) return "Conv weight is not constant";
  if (w->dtype() != DType::kFloat32) return str_cat("Conv weight is ", dtype_name(w->dtype()), ", not float32");
  if (w->rank() < 3) return "Conv weight rank below 3";
  if (node_has_input(conv, 2) && constant_of(g, conv.inputs[2]) == nullptr) return "Conv bias is not constant";
  for (int i = 1; i <= 4; ++i) {
    const Tensor* t = constant_of(g, bn.inputs[i]);
    if (t == nullptr) return str_cat("BatchNormalization input ", i, " is not constant");
    if (t->dtype() != DType::kFloat32 || t->numel() != w->dim(0)) return str_cat("BatchNormalization input ", i, " is not float32[", w->dim(0), "]");
  }
  return "";
}

}  // namespace

Status pass_fuse_conv_bn(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (std::size_t b = 0; b < g.nodes.size(); ++b) {
    const Node& bn = g.nodes[b];
    if (bn.op_type != "BatchNormalization" || bn.inputs[0] == kNoValue) continue;
    const std::int32_t c = g.values[bn.inputs[0]].producer;
    if (c < 0 || g.nodes[c].op_type != "Conv" || remove[c]) continue;
    Node& conv = g.nodes[c];
    if (sole_consumer(g, consumers, conv.outputs[0]) != static_cast<std::int32_t>(b)) continue;
    const std::string why = blocker(g, conv, bn);
    if (!why.empty()) {
      state.note("kept BatchNormalization '", bn.name, "' after Conv '", conv.name, "': ", why);
      continue;
    }
    const Tensor& w = *constant_of(g, conv.inputs[1]);
    const Tensor* bias = node_has_input(conv, 2) ? constant_of(g, conv.inputs[2]) : nullptr;
    const float* scale = constant_of(g, bn.inputs[1])->data<float>();
    const float* beta = constant_of(g, bn.inputs[2])->data<float>();
    const float* mean = constant_of(g, bn.inputs[3])->data<float>();
    const float* var = constant_of(g, bn.inputs[4])->data<float>();
    const Attribute* eps_attr = bn.find_attribute("epsilon");
    const double eps = eps_attr != nullptr ? eps_attr->f : 1e-5;
    const std::int64_t m = w.dim(0);
    const std::int64_t per = w.numel() / std::max<std::int64_t>(m, 1);
    Tensor nw(DType::kFloat32, w.dims());
    Tensor nb(DType::kFloat32, {m});
    for (std::int64_t o = 0; o < m; ++o) {
      const double s = scale[o] / std::sqrt(static_cast<double>(var[o]) + eps);
      for (std::int64_t k = 0; k < per; ++k) nw.data<float>()[o * per + k] = static_cast<float>(w.data<float>()[o * per + k] * s);
      const double b0 = bias != nullptr ? bias->data<float>()[o] : 0.0;
      nb.data<float>()[o] = static_cast<float>((b0 - mean[o]) * s + beta[o]);
    }
    const std::string base = conv.name.empty() ? g.values[conv.outputs[0]].name : conv.name;
    const ValueId wid = add_initializer(g, base + ".bn_folded_weight", std::move(nw));
    const ValueId bid = add_initializer(g, base + ".bn_folded_bias", std::move(nb));
    conv.inputs.resize(3);
    conv.inputs[1] = wid;
    conv.inputs[2] = bid;
    conv.outputs[0] = bn.outputs[0];
    remove[b] = true;
    ++count;
    if (count <= 3) state.note("Conv '", conv.name, "' absorbed BatchNormalization '", bn.name, "'");
  }
  if (count > 3) state.note("... ", count, " BatchNormalization nodes folded in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
