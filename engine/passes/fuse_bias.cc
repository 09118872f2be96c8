// Pass fuse_bias: y = Add(op(x), c) with c a constant per output channel becomes op's bias:
// Conv's input 2, Gemm's C (beta folded), or a MatMul epilogue bias over the last axis.
#include "engine/passes/epilogue.h"
#include "engine/ops/op_kernel.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

// Channel count `c` covers when broadcast against an output of rank `rank` along `axis`:
// every other aligned dim must be 1. Returns the channel count, 1 for a scalar, -1 if it does not fit.
std::int64_t channel_extent(const Tensor& c, std::size_t rank, std::size_t axis) {
  if (c.rank() > rank) return -1;
  std::int64_t extent = 1;
  for (std::size_t i = 0; i < c.rank(); ++i) {
    const std::size_t out_axis = rank - c.rank() + i;
    if (out_axis == axis) extent = c.dim(i);
    else if (c.dim(i) != 1) return -1;
  }
  return extent;
}

// The per-channel vector of length n from a constant covering 1 or n channels.
std::vector<float> expand(const Tensor& c, std::int64_t n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[i] = c.data<float>()[c.numel() == 1 ? 0 : i];
  return v;
}

Tensor to_tensor(const std::vector<float>& v) { return Tensor::from_vector(v); }

// Folds `add` (a constant) into `op` when the shapes allow; returns why not, or "".
std::string fold(Graph& g, Node& op, const Tensor& add) {
  const Tensor* w = constant_of(g, op.inputs[1]);
  if (w == nullptr || w->dtype() != DType::kFloat32) return "weight is not a float32 constant";
  if (add.dtype() != DType::kFloat32) return "added constant is not float32";
  if (op.op_type == "Conv") {
    const std::int64_t m = w->dim(0);
    const std::int64_t e = channel_extent(add, w->rank(), 1);
    if (e != 1 && e != m) return str_cat("constant ", add.describe(), " is not per-channel for ", m, " channels");
    std::vector<float> b = expand(add, m);
    if (node_has_input(op, 2)) {
      const Tensor* old = constant_of(g, op.inputs[2]);
      if (old == nullptr) return "existing bias is not constant";
      for (std::int64_t i = 0; i < m; ++i) b[i] += old->data<float>()[i];
    }
    op.inputs.resize(3);
    op.inputs[2] = add_initializer(g, op.name + ".fused_bias", to_tensor(b));
    return "";
  }
  if (op.op_type == "Gemm") {
    const Attribute* tb = op.find_attribute("transB");
    const std::int64_t n = (tb != nullptr && tb->i != 0) ? w->dim(0) : w->dim(1);
    const std::int64_t e = channel_extent(add, 2, 1);
    if (e != 1 && e != n) return str_cat("constant ", add.describe(), " is not per-column for ", n, " columns");
    std::vector<float> b = expand(add, n);
    if (node_has_input(op, 2)) {
      const Tensor* old = constant_of(g, op.inputs[2]);
      if (old == nullptr || old->dtype() != DType::kFloat32) return "existing C is not a float32 constant";
      const std::int64_t ce = channel_extent(*old, 2, 1);
      if (ce != 1 && ce != n) return "existing C is not per-column";
      const Attribute* beta = op.find_attribute("beta");
      const float bv = beta != nullptr ? beta->f : 1.0f;
      const std::vector<float> c = expand(*old, n);
      for (std::int64_t i = 0; i < n; ++i) b[i] += bv * c[i];
    }
    op.inputs.resize(3);
    op.inputs[2] = add_initializer(g, op.name + ".fused_bias", to_tensor(b));
    Attribute beta;
    beta.name = "beta";
    beta.kind = Attribute::Kind::kFloat;
    beta.f = 1.0f;
    set_attribute(op, beta);
    return "";
  }
  // MatMul: bias over the last axis, applied in the epilogue.
  if (w->rank() != 2) return "MatMul weight is not 2-D";
  if (read_epilogue(op).matmul_bias) return "MatMul already has a bias";
  const std::int64_t n = w->dim(1);
  const std::int64_t e = channel_extent(add, std::max<std::size_t>(add.rank(), 1), std::max<std::size_t>(add.rank(), 1) - 1);
  if (e != 1 && e != n) return str_cat("constant ", add.describe(), " is not per-column for ", n, " columns");
  op.inputs.resize(3);
  op.inputs[2] = add_initializer(g, op.name + ".fused_bias", to_tensor(expand(add, n)));
  Attribute a;
  a.name = kAttrMatMulBias;
  a.kind = Attribute::Kind::kInt;
  a.i = 1;
  set_attribute(op, a);
  return "";
}

}  // namespace

Status pass_fuse_bias(PassState& state) {
  Graph& g = state.graph;
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (std::size_t a = 0; a < g.nodes.size(); ++a) {
    const Node& add = g.nodes[a];
    if (add.op_type != "Add" || add.inputs.size() != 2) continue;
    const int ci = constant_of(g, add.inputs[1]) != nullptr ? 1 : (constant_of(g, add.inputs[0]) != nullptr ? 0 : -1);
    if (ci < 0) continue;
    const ValueId x = add.inputs[1 - ci];
    const std::int32_t p = g.values[x].producer;
    if (p < 0 || remove[p]) continue;
    Node& op = g.nodes[p];
    if (op.op_type != "Conv" && op.op_type != "Gemm" && op.op_type != "MatMul") continue;
    if (op.find_attribute(kAttrActivation) != nullptr) continue;  // bias must come before the activation
    if (sole_consumer(g, consumers, x) != static_cast<std::int32_t>(a)) continue;
    const Tensor c = *constant_of(g, add.inputs[ci]);  // a shallow copy: add_initializer may move values
    const std::string why = fold(g, op, c);
    if (!why.empty()) {
      state.note("kept Add '", add.name, "' after ", op.op_type, " '", op.name, "': ", why);
      continue;
    }
    op.outputs[0] = add.outputs[0];
    remove[a] = true;
    if (++count <= 3) state.note(op.op_type, " '", op.name, "' absorbed bias Add '", add.name, "'");
  }
  if (count > 3) state.note("... ", count, " bias Adds folded in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
