// Magnitude pruning of ONNX weights: masks by |w| (unstructured) or block L1 (block4), exact counts.
#include "engine/tools/prune_onnx.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "engine/tools/model_io.h"

namespace sparsify::tools {

using engine::DType;
using engine::Tensor;

const char* mask_type_name(MaskType mask) {
  switch (mask) {
#define SPARSIFY_MASK_NAME(e, name, what) \
  case MaskType::e: return name;
    SPARSIFY_MASK_TYPES(SPARSIFY_MASK_NAME)
#undef SPARSIFY_MASK_NAME
  }
  return "?";
}

std::string mask_type_list() {
  std::string out;
#define SPARSIFY_MASK_LIST(e, name, what) out += std::string(out.empty() ? "" : "|") + name;
  SPARSIFY_MASK_TYPES(SPARSIFY_MASK_LIST)
#undef SPARSIFY_MASK_LIST
  return out;
}

StatusOr<MaskType> parse_mask_type(std::string_view name) {
#define SPARSIFY_MASK_PARSE(e, n, what) \
  if (name == n) return MaskType::e;
  SPARSIFY_MASK_TYPES(SPARSIFY_MASK_PARSE)
#undef SPARSIFY_MASK_PARSE
  return unsupported("mask type '", name, "' is not supported; valid: ", mask_type_list());
}

std::int64_t prune_weights(float* w, const WeightLayout& l, double sparsity, MaskType mask) {
  constexpr std::int64_t kBlock = 4;
  const std::int64_t blocks_per_row = mask == MaskType::kBlock4 ? (l.in + kBlock - 1) / kBlock : l.in;
  const std::int64_t block = mask == MaskType::kBlock4 ? kBlock : 1;
  // Unit u = (o, b, i) in that order; its elements are w[(o*in + b*block + t)*inner + i], t < len.
  const std::int64_t units = l.outer * blocks_per_row * l.inner;
  const auto count = static_cast<std::int64_t>(std::llround(sparsity * static_cast<double>(units)));
  if (count <= 0 || units == 0) return 0;
  auto element = [&](std::int64_t u, std::int64_t t) -> float& {
    const std::int64_t i = u % l.inner, b = (u / l.inner) % blocks_per_row, o = u / (l.inner * blocks_per_row);
    return w[(o * l.in + b * block + t) * l.inner + i];
  };
  auto length = [&](std::int64_t u) {
    const std::int64_t b = (u / l.inner) % blocks_per_row;
    return std::min(block, l.in - b * block);
  };
  std::vector<double> score(static_cast<std::size_t>(units));
  for (std::int64_t u = 0; u < units; ++u) {
    const std::int64_t len = length(u);
    double s = 0;
    for (std::int64_t t = 0; t < len; ++t) s += std::abs(static_cast<double>(element(u, t)));
    score[static_cast<std::size_t>(u)] = s * static_cast<double>(block) / static_cast<double>(len);
  }
  std::vector<std::int64_t> order(static_cast<std::size_t>(units));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  const std::int64_t k = std::min(count, units);
  // A strict total order (score, then index), so the chosen set does not depend on the algorithm.
  std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), [&](std::int64_t a, std::int64_t b) {
    const double sa = score[static_cast<std::size_t>(a)], sb = score[static_cast<std::size_t>(b)];
    return sa != sb ? sa < sb : a < b;
  });
  for (std::int64_t j = 0; j < k; ++j) {
    const std::int64_t u = order[static_cast<std::size_t>(j)];
    for (std::int64_t t = 0, len = length(u); t < len; ++t) element(u, t) = 0.0f;
  }
  return k;
}

namespace {

double zero_fraction(const Tensor& t) {
  if (t.numel() == 0) return 0;
  std::int64_t z = 0;
  const float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) z += p[i] == 0.0f ? 1 : 0;
  return static_cast<double>(z) / static_cast<double>(t.numel());
}

// The layout of node's weight, or a reason to leave it alone in *why.
bool weight_layout(const onnx::NodeProto& node, const Tensor& w, WeightLayout* l, std::string* why) {
  const engine::Dims& d = w.dims();
  if (node.op_type() == "Conv") {
    const std::int64_t group = int_attribute(node, "group", 1);
    if (group != 1) {
      *why = d.size() >= 2 && d[1] == 1 ? "depthwise conv: left dense" : "grouped conv (group " + std::to_string(group) + "): left dense";
      return false;
    }
    if (d.size() < 3) {
      *why = "weight rank " + std::to_string(d.size()) + ", expected >= 3 (OI...)";
      return false;
    }
    l->outer = d[0];
    l->in = d[1];
    l->inner = 1;
    for (std::size_t i = 2; i < d.size(); ++i) l->inner *= d[i];
    return true;
  }
  if (d.size() != 2) {
    *why = "weight rank " + std::to_string(d.size()) + ", expected 2";
    return false;
  }
  if (node.op_type() == "Gemm" && int_attribute(node, "transB", 0) != 0) {
    *l = WeightLayout{d[0], d[1], 1};  // [N, K]
  } else {
    *l = WeightLayout{1, d[0], d[1]};  // [K, N]
  }
  return true;
}

}  // namespace

StatusOr<std::vector<LayerReport>> prune_model(onnx::ModelProto& model, const PruneOptions& o) {
  if (!(o.sparsity >= 0.0 && o.sparsity <= 1.0)) return invalid_argument("sparsity ", o.sparsity, " is not in [0, 1]");
  onnx::GraphProto& g = *model.mutable_graph();
  std::vector<LayerReport> out;
  std::map<std::string, double> done;  // weight -> sparsity after pruning (shared weights)
  for (int n = 0; n < g.node_size(); ++n) {
    const onnx::NodeProto& node = g.node(n);
    const std::string& op = node.op_type();
    if ((op != "Conv" && op != "Gemm" && op != "MatMul") || node.input_size() < 2) continue;
    onnx::TensorProto* proto = find_initializer(g, node.input(1));
    if (proto == nullptr) continue;  // activation x activation (attention) or computed weight
    LayerReport r;
    r.node = node_label(node, n);
    r.op = op;
    r.weight = proto->name();
    StatusOr<Tensor> w = initializer_tensor(*proto);
    if (!w.ok()) return w.status().with_prefix(str_cat(op, " '", r.node, "'"));
    r.shape = w->dims();
    if (w->dtype() != DType::kFloat32) {
      r.note = str_cat("weight is ", engine::dtype_name(w->dtype()), ", not float32: left alone");
      out.push_back(r);
      continue;
    }
    if (auto it = done.find(r.weight); it != done.end()) {
      r.sparsity = it->second;
      r.pruned = true;
      r.note = "weight shared with an earlier node";
      out.push_back(r);
      continue;
    }
    WeightLayout layout;
    std::string why;
    if (!weight_layout(node, *w, &layout, &why)) {
      r.sparsity = zero_fraction(*w);
      r.note = why;
      out.push_back(r);
      continue;
    }
    if (o.sparsity > 0) {
      Tensor t = w->clone();
      prune_weights(t.data<float>(), layout, o.sparsity, o.mask);
      set_initializer(*proto, t);
      r.sparsity = zero_fraction(t);
      r.pruned = true;
    } else {
      r.sparsity = zero_fraction(*w);
    }
    done[r.weight] = r.sparsity;
    out.push_back(r);
  }
  return out;
}

}  // namespace sparsify::tools
