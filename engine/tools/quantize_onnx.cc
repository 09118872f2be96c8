// QDQ insertion for post-training static quantization; the patterns are exactly those of
// engine/passes/fold_qdq.cc (DequantizeLinear on input and weight, a single QuantizeLinear on the
// output, int32 bias with scale x_scale * w_scale and no non-zero zero point).
#include "engine/tools/quantize_onnx.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "engine/tools/model_io.h"

namespace sparsify::tools {
namespace {

using engine::DType;
using engine::Tensor;

// Every name used in the graph, to make new ones unique.
class Names {
 public:
  explicit Names(const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& v : g.input()) used_.insert(v.name());
    for (const auto& v : g.output()) used_.insert(v.name());
    for (const auto& v : g.value_info()) used_.insert(v.name());
    for (const auto& n : g.node()) {
      for (const auto& o : n.output()) used_.insert(o);
      used_.insert(n.name());
    }
  }
  std::string make(const std::string& base) {
    std::string name = base;
    for (int i = 1; used_.count(name) != 0; ++i) name = base + "_" + std::to_string(i);
    used_.insert(name);
    return name;
  }

 private:
  std::set<std::string> used_;
};

// A constant scalar from an initializer or a Constant node's output.
bool constant_scalar(const onnx::GraphProto& g, const std::string& name, double* v) {
  const onnx::TensorProto* p = find_initializer(g, name);
  for (const auto& n : g.node()) {
    if (p != nullptr) break;
    if (n.op_type() != "Constant" || n.output_size() != 1 || n.output(0) != name) continue;
    for (const auto& a : n.attribute()) {
      if (a.name() == "value") p = &a.t();
    }
  }
  if (p == nullptr) return false;
  StatusOr<Tensor> t = initializer_tensor(*p);
  if (!t.ok() || t->numel() != 1) return false;
  *v = t->element_as_double(0);
  return true;
}

struct Target {
  int node = -1;
  std::string x, out;  // activation input; quantized output (node output or folded activation's)
  int activation = -1; // folded Relu/Clip node, or -1
};

bool graph_output(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& o : g.output()) {
    if (o.name() == name) return true;
  }
  return false;
}

StatusOr<std::vector<Target>> find_targets(const onnx::GraphProto& g) {
  std::map<std::string, std::vector<int>> consumers;
  for (int n = 0; n < g.node_size(); ++n) {
    const auto& node = g.node(n);
    if (node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear") {
      return invalid_argument("node '", node_label(node, n), "' is ", node.op_type(),
                              ": the model is already quantized; optimize a float model");
    }
    for (const auto& i : node.input()) {
      if (!i.empty()) consumers[i].push_back(n);
    }
  }
  std::vector<Target> out;
  for (int n = 0; n < g.node_size(); ++n) {
    const auto& node = g.node(n);
    const bool conv = node.op_type() == "Conv";
    if ((!conv && node.op_type() != "MatMul") || node.input_size() < 2) continue;
    const onnx::TensorProto* w = find_initializer(g, node.input(1));
    if (w == nullptr || w->data_type() != onnx::TensorProto::FLOAT) continue;
    if (conv ? w->dims_size() < 3 : w->dims_size() != 2) continue;
    if (find_initializer(g, node.input(0)) != nullptr) continue;  // constant x constant: folded anyway
    if (conv && node.input_size() > 2 && !node.input(2).empty() && find_initializer(g, node.input(2)) == nullptr) continue;
    Target t;
    t.node = n;
    t.x = node.input(0);
    t.out = node.output(0);
    const auto& cs = consumers[t.out];
    if (cs.size() == 1 && !graph_output(g, t.out)) {
      const auto& act = g.node(cs[0]);
      bool fold = act.op_type() == "Relu";
      if (act.op_type() == "Clip") {
        double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
        const bool has_lo = act.input_size() > 1 && !act.input(1).empty();
        const bool has_hi = act.input_size() > 2 && !act.input(2).empty();
        fold = (!has_lo || constant_scalar(g, act.input(1), &lo)) && (!has_hi || constant_scalar(g, act.input(2), &hi)) &&
               lo <= 0 && hi >= 0;
      }
      if (fold) {
        t.activation = cs[0];
        t.out = act.output(0);
      }
    }
    out.push_back(t);
  }
  return out;
}

onnx::NodeProto make_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                          const std::string& output, int axis = -999) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (auto& i : inputs) n.add_input(i);
  n.add_output(output);
  if (axis != -999) {
    auto* a = n.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
  }
  return n;
}

std::int8_t quantize_s8(float w, float scale) {
  const double q = std::nearbyint(static_cast<double>(w) / scale);
  return static_cast<std::int8_t>(std::clamp(q, -127.0, 127.0));
}

}  // namespace

QuantParams uint8_params(Range r) {
  const double lo = std::min(0.0, static_cast<double>(r.min)), hi = std::max(0.0, static_cast<double>(r.max));
  QuantParams p;
  if (!(hi - lo > 0) || !std::isfinite(hi - lo)) return p;
  p.scale = static_cast<float>((hi - lo) / 255.0);
  p.zero_point = static_cast<std::uint8_t>(std::clamp(std::nearbyint(-lo / p.scale), 0.0, 255.0));
  return p;
}

StatusOr<int> gemm_to_matmul(onnx::ModelProto& model) {
  onnx::GraphProto& g = *model.mutable_graph();
  Names names(g);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  int count = 0;
  for (int n = 0; n < g.node_size(); ++n) {
    const onnx::NodeProto& node = g.node(n);
    const onnx::TensorProto* b = node.op_type() == "Gemm" && node.input_size() >= 2 ? find_initializer(g, node.input(1)) : nullptr;
    if (b == nullptr || b->dims_size() != 2 || b->data_type() != onnx::TensorProto::FLOAT ||
        float_attribute(node, "alpha", 1) != 1.0f || float_attribute(node, "beta", 1) != 1.0f ||
        int_attribute(node, "transA", 0) != 0) {
      *nodes.Add() = node;
      continue;
    }
    const std::string label = node_label(node, n);
    std::string weight = b->name();
    if (int_attribute(node, "transB", 0) != 0) {
      SPARSIFY_ASSIGN_OR_RETURN(Tensor w, initializer_tensor(*b));
      const std::int64_t rows = w.dim(0), cols = w.dim(1);
      Tensor t(DType::kFloat32, {cols, rows});
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) t.data<float>()[c * rows + r] = w.data<float>()[r * cols + c];
      }
      weight = names.make(b->name() + "_transposed");
      *g.add_initializer() = make_initializer(weight, t);
    }
    const bool bias = node.input_size() > 2 && !node.input(2).empty();
    const std::string y = node.output(0);
    const std::string mm = bias ? names.make(y + "_matmul") : y;
    *nodes.Add() = make_node("MatMul", label, {node.input(0), weight}, mm);
    if (bias) *nodes.Add() = make_node("Add", names.make(label + "_bias"), {mm, node.input(2)}, y);
    ++count;
  }
  g.mutable_node()->Swap(&nodes);
  // Drop B initializers that only the rewritten Gemms read.
  std::set<std::string> read;
  for (const auto& n : g.node()) read.insert(n.input().begin(), n.input().end());
  for (const auto& o : g.output()) read.insert(o.name());
  auto* inits = g.mutable_initializer();
  inits->erase(std::remove_if(inits->begin(), inits->end(), [&](const onnx::TensorProto& t) { return read.count(t.name()) == 0; }),
               inits->end());
  return count;
}

StatusOr<std::vector<std::string>> calibration_tensors(const onnx::ModelProto& model) {
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Target> targets, find_targets(model.graph()));
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const Target& t : targets) {
    for (const std::string& s : {t.x, t.out}) {
      if (seen.insert(s).second) out.push_back(s);
    }
  }
  return out;
}

StatusOr<std::vector<QuantReport>> quantize_model(onnx::ModelProto& model, const std::map<std::string, Range>& ranges) {
  const std::int64_t opset = default_opset(model);
  if (opset < 13) {
    return unsupported("the model's opset is ", opset, "; per-channel QDQ needs opset >= 13 (re-export with opset 13+)");
  }
  onnx::GraphProto& g = *model.mutable_graph();
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Target> targets, find_targets(g));
  Names names(g);
  std::map<int, const Target*> by_node;
  std::set<int> folded;
  for (const Target& t : targets) {
    by_node[t.node] = &t;
    if (t.activation >= 0) folded.insert(t.activation);
  }
  auto params = [&](const std::string& tensor) -> StatusOr<QuantParams> {
    auto it = ranges.find(tensor);
    if (it == ranges.end()) return internal_error("no calibration range for tensor '", tensor, "'");
    return uint8_params(it->second);
  };
  // Scale and zero-point initializers per activation tensor, made once.
  std::map<std::string, std::pair<std::string, std::string>> act_qparams;
  std::map<std::string, float> act_scale;
  auto act_params = [&](const std::string& tensor) -> StatusOr<std::pair<std::string, std::string>> {
    if (auto it = act_qparams.find(tensor); it != act_qparams.end()) return it->second;
    SPARSIFY_ASSIGN_OR_RETURN(QuantParams p, params(tensor));
    const std::string s = names.make(tensor + "_scale"), z = names.make(tensor + "_zero_point");
    *g.add_initializer() = make_initializer(s, Tensor::scalar<float>(p.scale));
    *g.add_initializer() = make_initializer(z, Tensor::scalar<std::uint8_t>(p.zero_point));
    act_scale[tensor] = p.scale;
    return act_qparams[tensor] = {s, z};
  };

  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  std::map<std::string, std::string> dequantized;  // float tensor -> its Q/DQ'd copy
  std::set<std::string> produced_by_dq;            // outputs re-created by an inserted DequantizeLinear
  std::vector<QuantReport> report;
  std::map<std::string, std::string> weight_dq;     // weight initializer -> DequantizeLinear output
  for (int n = 0; n < g.node_size(); ++n) {
    if (folded.count(n) != 0) continue;
    auto it = by_node.find(n);
    if (it == by_node.end()) {
      *nodes.Add() = g.node(n);
      continue;
    }
    const Target& t = *it->second;
    onnx::NodeProto node = g.node(n);
    const std::string label = node_label(node, n);
    const bool conv = node.op_type() == "Conv";
    // Activation input.
    std::string x = t.x;
    if (produced_by_dq.count(x) == 0) {
      if (auto d = dequantized.find(x); d != dequantized.end()) {
        x = d->second;
      } else {
        SPARSIFY_ASSIGN_OR_RETURN(auto sz, act_params(t.x));
        const std::string q = names.make(t.x + "_quantized"), dq = names.make(t.x + "_dequantized");
        *nodes.Add() = make_node("QuantizeLinear", names.make(q), {t.x, sz.first, sz.second}, q);
        *nodes.Add() = make_node("DequantizeLinear", names.make(dq), {q, sz.first, sz.second}, dq);
        dequantized[t.x] = x = dq;
      }
    }
    node.set_input(0, x);
    // Weight.
    const onnx::TensorProto* wp = find_initializer(g, node.input(1));
    SPARSIFY_ASSIGN_OR_RETURN(Tensor w, initializer_tensor(*wp));
    const std::int64_t channels = conv ? w.dim(0) : 1;
    const std::int64_t per = w.numel() / std::max<std::int64_t>(channels, 1);
    std::vector<float> w_scale(static_cast<std::size_t>(channels), 1.0f);
    for (std::int64_t c = 0; c < channels; ++c) {
      float amax = 0;
      for (std::int64_t i = 0; i < per; ++i) amax = std::max(amax, std::abs(w.data<float>()[c * per + i]));
      if (amax > 0) w_scale[static_cast<std::size_t>(c)] = amax / 127.0f;
    }
    const std::string wname = wp->name();
    if (weight_dq.count(wname) == 0) {
      Tensor wq(DType::kInt8, w.dims());
      for (std::int64_t i = 0; i < w.numel(); ++i) wq.data<std::int8_t>()[i] = quantize_s8(w.data<float>()[i], w_scale[static_cast<std::size_t>(i / per)]);
      const std::string q = names.make(wname + "_quantized"), s = names.make(wname + "_scale"),
                        z = names.make(wname + "_zero_point"), dq = names.make(wname + "_dequantized");
      *g.add_initializer() = make_initializer(q, wq);
      if (conv) {
        *g.add_initializer() = make_initializer(s, Tensor::from_vector(w_scale));
        *g.add_initializer() = make_initializer(z, Tensor(DType::kInt8, {channels}));
        *nodes.Add() = make_node("DequantizeLinear", dq, {q, s, z}, dq, /*axis=*/0);
      } else {
        *g.add_initializer() = make_initializer(s, Tensor::scalar<float>(w_scale[0]));
        *g.add_initializer() = make_initializer(z, Tensor::scalar<std::int8_t>(0));
        *nodes.Add() = make_node("DequantizeLinear", dq, {q, s, z}, dq);
      }
      weight_dq[wname] = dq;
    }
    node.set_input(1, weight_dq[wname]);
    // Conv bias: int32 with scale x_scale * w_scale[c], zero point omitted (0).
    if (conv && node.input_size() > 2 && !node.input(2).empty()) {
      SPARSIFY_ASSIGN_OR_RETURN(auto sz, act_params(t.x));
      (void)sz;
      const double xs = act_scale[t.x];
      const onnx::TensorProto* bp = find_initializer(g, node.input(2));
      SPARSIFY_ASSIGN_OR_RETURN(Tensor b, initializer_tensor(*bp));
      if (b.dtype() != DType::kFloat32 || b.numel() != channels) {
        return invalid_argument("Conv '", label, "': bias '", bp->name(), "' is ", b.describe(), ", expected float32[", channels, "]");
      }
      Tensor bq(DType::kInt32, {channels});
      std::vector<float> b_scale(static_cast<std::size_t>(channels));
      for (std::int64_t c = 0; c < channels; ++c) {
        const float s = static_cast<float>(xs * static_cast<double>(w_scale[static_cast<std::size_t>(c)]));
        b_scale[static_cast<std::size_t>(c)] = s;
        const double q = std::nearbyint(static_cast<double>(b.data<float>()[c]) / s);
        bq.data<std::int32_t>()[c] = static_cast<std::int32_t>(std::clamp(q, -2147483647.0, 2147483647.0));
      }
      const std::string q = names.make(bp->name() + "_quantized"), s = names.make(bp->name() + "_scale"),
                        dq = names.make(bp->name() + "_dequantized");
      *g.add_initializer() = make_initializer(q, bq);
      *g.add_initializer() = make_initializer(s, Tensor::from_vector(b_scale));
      *nodes.Add() = make_node("DequantizeLinear", dq, {q, s}, dq, /*axis=*/0);
      node.set_input(2, dq);
    }
    // Output: node -> raw -> QuantizeLinear -> DequantizeLinear -> t.out (the name consumers read).
    SPARSIFY_ASSIGN_OR_RETURN(auto oz, act_params(t.out));
    const std::string raw = names.make(t.out + "_raw"), q = names.make(t.out + "_quantized");
    node.set_output(0, raw);
    *nodes.Add() = node;
    *nodes.Add() = make_node("QuantizeLinear", names.make(q), {raw, oz.first, oz.second}, q);
    *nodes.Add() = make_node("DequantizeLinear", names.make(t.out + "_dequantize"), {q, oz.first, oz.second}, t.out);
    produced_by_dq.insert(t.out);
    report.push_back({label, wname, conv ? "int8 per-channel" : "int8 per-tensor"});
  }
  g.mutable_node()->Swap(&nodes);
  // Drop float initializers nothing reads any more, and shape info of values that disappeared.
  std::set<std::string> live;
  for (const auto& n : g.node()) {
    live.insert(n.input().begin(), n.input().end());
    live.insert(n.output().begin(), n.output().end());
  }
  for (const auto& o : g.output()) live.insert(o.name());
  auto* inits = g.mutable_initializer();
  inits->erase(std::remove_if(inits->begin(), inits->end(), [&](const onnx::TensorProto& t) { return live.count(t.name()) == 0; }),
               inits->end());
  auto* infos = g.mutable_value_info();
  infos->erase(std::remove_if(infos->begin(), infos->end(), [&](const onnx::ValueInfoProto& v) { return live.count(v.name()) == 0; }),
               infos->end());
  return report;
}

}  // namespace sparsify::tools
