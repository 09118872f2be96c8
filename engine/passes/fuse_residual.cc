// Pass fuse_residual: y = Add(Conv(x), skip), with skip of y's shape (no broadcasting) computed
// before the Conv, becomes the Conv with skip as input 3 (kConvResidualInput) and the residual
// epilogue flag; fuse_activation, which runs next, then folds a following Relu into it too. When
// both Add inputs are Convs (a ResNet downsample block) the later one absorbs the Add, so the
// other's output is ready when it runs. The plan keeps skip live through the Conv (it is an input
// of the step), so the Conv's output never shares its storage.
#include "engine/ops/op_kernel.h"
#include "engine/passes/epilogue.h"
#include "engine/passes/pass.h"

namespace sparsify::engine {
namespace {

// Why the Conv producing `conv_out` cannot absorb `add` (the other operand `skip`), or "".
std::string why_not(const Graph& g, const std::vector<std::vector<std::int32_t>>& consumers,
                    const std::vector<Tensor>& descs, std::int32_t add, ValueId conv_out, ValueId skip) {
  const std::int32_t p = g.values[conv_out].producer;
  if (p < 0 || g.nodes[p].op_type != "Conv") return "not a Conv output";
  const Node& conv = g.nodes[p];
  const Tensor* w = constant_of(g, conv.inputs[1]);
  if (w == nullptr || w->dtype() != DType::kFloat32) return "Conv weight is not a float32 constant";
  if (conv.find_attribute(kAttrActivation) != nullptr) return "Conv already has an activation";
  if (conv.find_attribute(kAttrResidual) != nullptr) return "Conv already has a residual";
  if (sole_consumer(g, consumers, conv_out) != add) return "Conv output has other readers";
  if (constant_of(g, skip) != nullptr) return "the other operand is a constant";
  const Tensor& a = descs[conv_out];
  const Tensor& b = descs[skip];
  if (a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32) return "not float32";
  if (a.dims() != b.dims()) return str_cat("shapes differ (", dims_to_string(a.dims()), " vs ", dims_to_string(b.dims()), ")");
  if (skip == conv_out) return "both operands are the Conv output";
  const std::int32_t sp = g.values[skip].producer;
  if (sp >= p) return "the other operand is computed after the Conv";
  return "";
}

}  // namespace

Status pass_fuse_residual(PassState& state) {
  Graph& g = state.graph;
  SPARSIFY_ASSIGN_OR_RETURN(InferredGraph ig, infer_shapes(g, state.input_descs, state.check_declared_shapes));
  const auto consumers = value_consumers(g);
  std::vector<bool> remove(g.nodes.size(), false);
  int count = 0;
  for (std::size_t a = 0; a < g.nodes.size(); ++a) {
    const Node& add = g.nodes[a];
    if (add.op_type != "Add" || add.inputs.size() != 2 || add.outputs.empty()) continue;
    const std::int32_t ai = static_cast<std::int32_t>(a);
    const ValueId x0 = add.inputs[0], x1 = add.inputs[1];
    const std::int32_t p0 = g.values[x0].producer, p1 = g.values[x1].producer;
    if ((p0 < 0 || g.nodes[p0].op_type != "Conv") && (p1 < 0 || g.nodes[p1].op_type != "Conv")) continue;
    // Prefer the later Conv (its partner is then ready).
    ValueId conv_out = p1 > p0 ? x1 : x0, skip = p1 > p0 ? x0 : x1;
    std::string why = why_not(g, consumers, ig.values, ai, conv_out, skip);
    if (!why.empty()) {
      const std::string first = why;
      std::swap(conv_out, skip);
      why = why_not(g, consumers, ig.values, ai, conv_out, skip);
      if (!why.empty()) {
        state.note("kept Add '", add.name, "': ", first, "; ", why);
        continue;
      }
    }
    Node& conv = g.nodes[g.values[conv_out].producer];
    if (conv.inputs.size() < 3) conv.inputs.resize(3, kNoValue);
    conv.inputs.resize(kConvResidualInput + 1);
    conv.inputs[kConvResidualInput] = skip;
    Attribute r;
    r.name = kAttrResidual;
    r.kind = Attribute::Kind::kInt;
    r.i = 1;
    set_attribute(conv, r);
    conv.outputs[0] = add.outputs[0];
    remove[a] = true;
    if (++count <= 3) state.note("Conv '", conv.name, "' absorbed Add '", add.name, "' (residual)");
  }
  if (count > 3) state.note("... ", count, " residual Adds fused in all");
  if (count > 0) remove_nodes(g, remove);
  return Status();
}

}  // namespace sparsify::engine
