// ExportContext: value plumbing, quantize/dequantize, and the conv/linear/embedding/add layers in fp32, qdq and int8.
#include "sparseml/export/exporter.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <torch/torch.h>

#include "engine/base/check.h"

namespace sparsify::ml::onnx_export {

using quant::Act;
using quant::QuantLayerInfo;
using quant::QuantParams;

namespace {

constexpr int kFloat = onnx::TensorProto::FLOAT;

bool same_params(const QuantParams& a, const QuantParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point && a.quant_min == b.quant_min &&
         a.quant_max == b.quant_max && a.axis == b.axis;
}

// Whether the integer range is narrower than the storage type's, so a Clip must follow QuantizeLinear.
bool narrower_than_type(const QuantParams& p) {
  return p.is_signed() ? (p.quant_min > -128 || p.quant_max < 127) : (p.quant_min > 0 || p.quant_max < 255);
}

torch::Tensor cpu_float(const torch::Tensor& t) { return t.detach().to(torch::kCPU).to(torch::kFloat).contiguous(); }

// ref: PyTorch ConvBn folding (torch/nn/utils/fusion.py fuse_conv_bn_weights); the same formula as
// QatContext::folded_weights, so folded fp32 and QAT exports agree.
quant::FoldedWeights fold_conv_bn(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl* bn) {
  torch::NoGradGuard no_grad;
  quant::FoldedWeights out;
  out.weight = conv.weight.detach().clone();
  if (conv.bias.defined()) out.bias = conv.bias.detach().clone();
  if (bn == nullptr) return out;
  const auto& o = bn->options;
  const torch::Tensor std = torch::sqrt(bn->running_var + o.eps());
  const torch::Tensor gamma = o.affine() ? bn->weight.detach() : torch::ones_like(std);
  const torch::Tensor beta = o.affine() ? bn->bias.detach() : torch::zeros_like(std);
  const torch::Tensor mean = out.bias.defined() ? bn->running_mean - out.bias : bn->running_mean.clone();
  out.weight = out.weight * (gamma / std).reshape({-1, 1, 1, 1});
  out.bias = beta - gamma * mean / std;
  return out;
}

}  // namespace

ExportContext::ExportContext(GraphBuilder& graph, Format format, int opset, torch::nn::Module& root,
                             const quant::QatContext* qat, std::vector<std::int64_t> input_shape)
    : g_(graph), format_(format), opset_(opset), qat_(qat), input_shape_(std::move(input_shape)) {
  for (const auto& item : root.named_modules("", /*include_self=*/true)) paths_[item.value().get()] = item.key();
  if (qat_ != nullptr && format_ != Format::kFp32) {
    for (auto& info : qat_->layers()) layers_[info.name] = info;
  }
}

const std::string& ExportContext::path_of(const torch::nn::Module& module) const {
  const auto it = paths_.find(&module);
  SPARSIFY_CHECK(it != paths_.end());
  return it->second;
}

std::string ExportContext::hint(const std::string& path, const char* fallback) { return path.empty() ? fallback : path; }

const QuantLayerInfo* ExportContext::layer(const std::string& name) const {
  const auto it = layers_.find(name);
  return it == layers_.end() ? nullptr : &it->second;
}

StatusOr<Value> ExportContext::run(torch::nn::Module& module, const Value& x) {
  const std::string& path = path_of(module);
  for (const ModuleExporter& row : module_exporters()) {
    if (row.matches(module)) return row.run(*this, path, module, x);
  }
  std::string known;
  for (const ModuleExporter& row : module_exporters()) known += (known.empty() ? "" : ", ") + std::string(row.type);
  return unsupported("module '", path.empty() ? "<root>" : path, "' of type ", module_type_name(module),
                     " has no ONNX exporter; supported module types: ", known);
}

// ---- Initializers --------------------------------------------------------------------------

std::string ExportContext::tensor_initializer(const std::string& name, const torch::Tensor& t) {
  const torch::Tensor c = cpu_float(t);
  return g_.initializer(name, kFloat, c.sizes().vec(), c.data_ptr<float>(), c.numel() * sizeof(float));
}

std::pair<std::string, std::string> ExportContext::qparams(const QuantParams& p, const std::string& prefix,
                                                           bool as_signed) {
  const std::vector<std::int64_t> dims =
      p.axis >= 0 ? std::vector<std::int64_t>{static_cast<std::int64_t>(p.scale.size())} : std::vector<std::int64_t>{};
  const std::string scale = g_.initializer(g_.unique(prefix + "_scale"), kFloat, dims, p.scale.data(),
                                           p.scale.size() * sizeof(float));
  std::string zp;
  if (as_signed) {
    std::vector<std::int8_t> z(p.zero_point.begin(), p.zero_point.end());
    zp = g_.initializer(g_.unique(prefix + "_zero_point"), onnx::TensorProto::INT8, dims, z.data(), z.size());
  } else {
    std::vector<std::uint8_t> z(p.zero_point.begin(), p.zero_point.end());
    zp = g_.initializer(g_.unique(prefix + "_zero_point"), onnx::TensorProto::UINT8, dims, z.data(), z.size());
  }
  return {scale, zp};
}

std::string ExportContext::weight_float(const std::string& name, const torch::Tensor& w, const QuantLayerInfo* info) {
  const std::string fw = tensor_initializer(name, w);
  if (info == nullptr || !info->weight) return fw;
  const QuantParams& p = *info->weight;
  const auto [s, z] = qparams(p, name, /*as_signed=*/true);
  std::string q = g_.add("QuantizeLinear", {fw, s, z}, name + "_quantized", {Attr("axis", p.axis < 0 ? 1 : p.axis)});
  if (narrower_than_type(p)) {
    q = g_.add("Clip", {q, g_.scalar_i8(name + "_qmin", static_cast<std::int8_t>(p.quant_min)),
                        g_.scalar_i8(name + "_qmax", static_cast<std::int8_t>(p.quant_max))}, name + "_clipped");
  }
  return g_.add("DequantizeLinear", {q, s, z}, name + "_dequantized", {Attr("axis", p.axis < 0 ? 1 : p.axis)});
}

std::string ExportContext::weight_int8(const std::string& name, const torch::Tensor& w, const QuantParams& p) {
  torch::NoGradGuard no_grad;
  const torch::Tensor wf = cpu_float(w);
  std::vector<std::int64_t> bshape(static_cast<std::size_t>(wf.dim()), 1);
  bshape[0] = -1;
  const auto scale = torch::tensor(p.scale, torch::kFloat).reshape(bshape);
  const auto zp = torch::tensor(std::vector<std::int64_t>(p.zero_point.begin(), p.zero_point.end()), torch::kLong)
                      .to(torch::kFloat)
                      .reshape(bshape);
  // As torch.fake_quantize_per_channel_affine: round-half-even of x * (1 / scale), then clamp.
  const torch::Tensor q = torch::clamp(torch::round(wf * (1.0f / scale)) + zp, static_cast<double>(p.quant_min),
                                       static_cast<double>(p.quant_max))
                              .to(torch::kChar)
                              .contiguous();
  return g_.initializer(name, onnx::TensorProto::INT8, q.sizes().vec(), q.data_ptr<std::int8_t>(), q.numel());
}

std::string ExportContext::bias_int32(const std::string& name, const torch::Tensor& b, float input_scale,
                                      const QuantParams& w) {
  const torch::Tensor bf = cpu_float(b);
  const float* src = bf.data_ptr<float>();
  std::vector<std::int32_t> q(static_cast<std::size_t>(bf.numel()));
  for (std::size_t c = 0; c < q.size(); ++c) {
    const float s = input_scale * w.scale[w.scale.size() == 1 ? 0 : c];  // float32, as ONNX Runtime computes it
    const double v = std::nearbyint(static_cast<double>(src[c]) / static_cast<double>(s));
    q[c] = static_cast<std::int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
  }
  return g_.initializer(name, onnx::TensorProto::INT32, {bf.numel()}, q.data(), q.size() * sizeof(std::int32_t));
}

// ---- Quantization plumbing -------------------------------------------------------------------

Value ExportContext::quantize(const std::string& x, const QuantParams& p, const std::string& prefix) {
  const auto [s, z] = qparams(p, prefix, p.is_signed());
  std::string q = g_.add("QuantizeLinear", {x, s, z}, prefix + "_quantized");
  if (narrower_than_type(p)) {
    const std::string lo = p.is_signed() ? g_.scalar_i8(prefix + "_qmin", static_cast<std::int8_t>(p.quant_min))
                                         : g_.scalar_u8(prefix + "_qmin", static_cast<std::uint8_t>(p.quant_min));
    const std::string hi = p.is_signed() ? g_.scalar_i8(prefix + "_qmax", static_cast<std::int8_t>(p.quant_max))
                                         : g_.scalar_u8(prefix + "_qmax", static_cast<std::uint8_t>(p.quant_max));
    q = g_.add("Clip", {q, lo, hi}, prefix + "_clipped");
  }
  Value out;
  if (format_ == Format::kQdq) {
    out.name = g_.add("DequantizeLinear", {q, s, z}, prefix + "_dequantized");
  } else {
    out.name = q;
    out.q = p;
    dequant_params_[q] = {s, z};
  }
  return out;
}

std::string ExportContext::as_float(const Value& v) {
  if (!v.q) return v.name;
  if (const auto it = dequantized_.find(v.name); it != dequantized_.end()) return it->second;
  const auto it = dequant_params_.find(v.name);
  SPARSIFY_CHECK(it != dequant_params_.end());
  const std::string f = g_.add("DequantizeLinear", {v.name, it->second.first, it->second.second}, v.name + "_dequantized");
  dequantized_[v.name] = f;
  return f;
}

Value ExportContext::quantized_input(const Value& x, const QuantLayerInfo& info) {
  if (!info.input) return Value{as_float(x), x.rank, std::nullopt};
  const bool own = !info.input_sources.empty() && info.input_sources[0] == info.name;
  if (format_ == Format::kQdq) {
    if (!own) return x;  // already fake-quantized by its producer's output quantizer
    Value q = quantize(x.name, *info.input, info.name + ".input");
    q.rank = x.rank;
    return q;
  }
  if (x.q && same_params(*x.q, *info.input)) return x;
  Value q = quantize(as_float(x), *info.input, info.name + (own ? ".input" : ".input_requantized"));
  q.rank = x.rank;
  return q;
}

std::string ExportContext::activation(const std::string& x, Act act, const std::string& hint) {
  switch (act) {
    case Act::kNone: return x;
    case Act::kRelu: return g_.add("Relu", {x}, hint + ".relu");
    case Act::kRelu6:
      return g_.add("Clip", {x, g_.scalar_f32(hint + ".relu6_min", 0.0f), g_.scalar_f32(hint + ".relu6_max", 6.0f)},
                    hint + ".relu6");
    case Act::kGelu: {
      // Exact GELU as torch::gelu: x * 0.5 * (1 + erf(x / sqrt(2))).
      const std::string scaled = g_.add("Mul", {x, g_.scalar_f32(hint + ".gelu_rsqrt2", static_cast<float>(M_SQRT1_2))},
                                        hint + ".gelu_scaled");
      const std::string erf = g_.add("Erf", {scaled}, hint + ".gelu_erf");
      const std::string one = g_.add("Add", {erf, g_.scalar_f32(hint + ".gelu_one", 1.0f)}, hint + ".gelu_plus1");
      const std::string half = g_.add("Mul", {x, g_.scalar_f32(hint + ".gelu_half", 0.5f)}, hint + ".gelu_half_x");
      return g_.add("Mul", {half, one}, hint + ".gelu");
    }
  }
  return x;
}

Value ExportContext::unary(const std::string& op_type, const Value& x, const std::string& hint) {
  return Value{g_.add(op_type, {as_float(x)}, hint), x.rank, std::nullopt};
}

Value ExportContext::pass_through(const std::string& op_type, const Value& x, std::vector<std::string> extra_inputs,
                                  const std::string& hint, std::initializer_list<Attr> attrs, int out_rank) {
  extra_inputs.insert(extra_inputs.begin(), x.name);
  Value out{g_.add(op_type, extra_inputs, hint, attrs), out_rank, x.q};
  if (x.q) dequant_params_[out.name] = dequant_params_.at(x.name);
  return out;
}

// ---- Layers ----------------------------------------------------------------------------------

StatusOr<Value> ExportContext::conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const Value& x,
                                    Act act) {
  const std::string& path = path_of(conv);
  const auto& o = conv.options;
  if (c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) == nullptr) {
    return unsupported("Conv2d '", path, "': only zero padding exports (padding_mode must be zeros)");
  }
  std::vector<std::int64_t> pads = {0, 0, 0, 0};
  if (const auto* p = c10::get_if<torch::ExpandingArray<2>>(&o.padding())) {
    pads = {(**p)[0], (**p)[1], (**p)[0], (**p)[1]};
  } else if (c10::get_if<torch::enumtype::kSame>(&o.padding()) != nullptr) {
    return unsupported("Conv2d '", path, "': padding='same' does not export; give explicit padding");
  }
  if (bn != nullptr && !bn->options.track_running_stats()) {
    return unsupported("BatchNorm2d '", path_of(*bn), "': folding needs running statistics (track_running_stats)");
  }
  const QuantLayerInfo* info = layer(path);
  quant::FoldedWeights fw;
  if (info != nullptr) {
    auto folded = qat_->folded_weights(path);
    if (!folded.ok()) return folded.status();
    fw = std::move(folded).value();
  } else {
    fw = fold_conv_bn(conv, bn);
  }
  const std::vector<std::int64_t> k = {(*o.kernel_size())[0], (*o.kernel_size())[1]};
  const std::vector<std::int64_t> strides = {(*o.stride())[0], (*o.stride())[1]};
  const std::vector<std::int64_t> dil = {(*o.dilation())[0], (*o.dilation())[1]};
  const std::string wname = path + ".weight", bname = path + ".bias";

  auto float_conv = [&](const std::string& xin, const std::string& w) {
    std::vector<std::string> ins = {xin, w};
    if (fw.bias.defined()) ins.push_back(tensor_initializer(bname, fw.bias));
    return g_.add("Conv", ins, path, {Attr("kernel_shape", k), Attr("strides", strides), Attr("pads", pads),
                                      Attr("dilations", dil), Attr("group", o.groups())});
  };
  auto finish = [&](const std::string& y) -> Value {
    const std::string a = activation(y, act, path);
    if (info != nullptr && info->output) return quantize(a, *info->output, path + ".output");
    return Value{a, 4, std::nullopt};
  };

  if (info == nullptr || !info->weight) return finish(float_conv(as_float(x), tensor_initializer(wname, fw.weight)));
  const Value xin = quantized_input(x, *info);
  if (format_ == Format::kQdq) return finish(float_conv(xin.name, weight_float(wname, fw.weight, info)));

  // int8: QLinearConv when its saturating uint8 output can express act + the output quantizer.
  const QuantParams& wp = *info->weight;
  const std::string wq = weight_int8(wname, fw.weight, wp);
  const auto [ws, wz] = qparams(wp, wname, /*as_signed=*/true);
  const bool act_ok = act == Act::kNone || act == Act::kRelu || act == Act::kRelu6;
  if (!(info->output && act_ok && xin.q && xin.q->scale.size() == 1)) {
    const std::string w = g_.add("DequantizeLinear", {wq, ws, wz}, wname + "_dequantized", {Attr("axis", 0)});
    return finish(float_conv(as_float(xin), w));
  }
  const QuantParams& op = *info->output;
  const auto& xs = dequant_params_.at(xin.name);
  const auto [ys, yz] = qparams(op, path + ".output", op.is_signed());
  std::vector<std::string> ins = {xin.name, xs.first, xs.second, wq, ws, wz, ys, yz};
  if (fw.bias.defined()) ins.push_back(bias_int32(bname, fw.bias, xin.q->scale[0], wp));
  std::string y = g_.add("QLinearConv", ins, path + ".output_quantized",
                         {Attr("kernel_shape", k), Attr("strides", strides), Attr("pads", pads), Attr("dilations", dil),
                          Attr("group", o.groups())});
  // The fused activation and a narrower-than-type range become a Clip on the integers.
  std::int64_t lo = op.quant_min, hi = op.quant_max;
  const std::int64_t zp = op.zero_point[0];
  if (act != Act::kNone) lo = std::max(lo, zp);
  if (act == Act::kRelu6) hi = std::min<std::int64_t>(hi, zp + std::llround(6.0 / op.scale[0]));
  const std::int64_t type_lo = op.is_signed() ? -128 : 0, type_hi = op.is_signed() ? 127 : 255;
  if (lo > type_lo || hi < type_hi) {
    const std::string lo_v = op.is_signed() ? g_.scalar_i8(path + ".clip_min", static_cast<std::int8_t>(lo))
                                            : g_.scalar_u8(path + ".clip_min", static_cast<std::uint8_t>(lo));
    const std::string hi_v = op.is_signed() ? g_.scalar_i8(path + ".clip_max", static_cast<std::int8_t>(hi))
                                            : g_.scalar_u8(path + ".clip_max", static_cast<std::uint8_t>(hi));
    y = g_.add("Clip", {y, lo_v, hi_v}, path + ".output_clipped");
  }
  dequant_params_[y] = {ys, yz};
  return Value{y, 4, op};
}

StatusOr<Value> ExportContext::linear(torch::nn::LinearImpl& linear, const Value& x, Act act) {
  const std::string& path = path_of(linear);
  const QuantLayerInfo* info = layer(path);
  const std::string wname = path + ".weight", bname = path + ".bias";
  const bool has_bias = linear.bias.defined();

  auto float_linear = [&](const std::string& xin, const std::string& w) {
    if (x.rank == 2) {
      std::vector<std::string> ins = {xin, w};
      if (has_bias) ins.push_back(tensor_initializer(bname, linear.bias));
      return g_.add("Gemm", ins, path, {Attr("transB", 1)});
    }
    const std::string wt = g_.add("Transpose", {w}, wname + "_transposed", {Attr("perm", std::vector<std::int64_t>{1, 0})});
    const std::string y = g_.add("MatMul", {xin, wt}, has_bias ? path + ".matmul" : path);
    return has_bias ? g_.add("Add", {y, tensor_initializer(bname, linear.bias)}, path) : y;
  };
  auto finish = [&](const std::string& y) -> Value {
    const std::string a = activation(y, act, path);
    if (info != nullptr && info->output) {
      Value v = quantize(a, *info->output, path + ".output");
      v.rank = x.rank;
      return v;
    }
    return Value{a, x.rank, std::nullopt};
  };

  if (info == nullptr || !info->weight) return finish(float_linear(as_float(x), tensor_initializer(wname, linear.weight)));
  const Value xin = quantized_input(x, *info);
  if (format_ == Format::kQdq) return finish(float_linear(xin.name, weight_float(wname, linear.weight, info)));

  // int8: MatMulInteger(x_u8, W_i8^T) + int32 bias, then one float rescale by x_scale * w_scale[c].
  const QuantParams& wp = *info->weight;
  const std::string wq = weight_int8(wname, linear.weight, wp);
  if (!xin.q || xin.q->scale.size() != 1) {
    const auto [ws, wz] = qparams(wp, wname, /*as_signed=*/true);
    const std::string w = g_.add("DequantizeLinear", {wq, ws, wz}, wname + "_dequantized", {Attr("axis", 0)});
    return finish(float_linear(as_float(xin), w));
  }
  const float sx = xin.q->scale[0];
  const std::string wt = g_.add("Transpose", {wq}, wname + "_transposed", {Attr("perm", std::vector<std::int64_t>{1, 0})});
  bool zero_w_zp = true;
  for (std::int32_t z : wp.zero_point) zero_w_zp = zero_w_zp && z == 0;
  std::string wz;
  if (zero_w_zp) {
    wz = g_.scalar_i8(wname + "_zero_point", 0);
  } else {
    std::vector<std::int8_t> z(wp.zero_point.begin(), wp.zero_point.end());
    wz = g_.initializer(g_.unique(wname + "_zero_point"), onnx::TensorProto::INT8,
                        {static_cast<std::int64_t>(z.size())}, z.data(), z.size());
  }
  std::string acc = g_.add("MatMulInteger", {xin.name, wt, dequant_params_.at(xin.name).second, wz}, path + ".acc");
  if (has_bias) acc = g_.add("Add", {acc, bias_int32(bname, linear.bias, sx, wp)}, path + ".acc_bias");
  const std::string f = g_.add("Cast", {acc}, path + ".acc_float", {Attr("to", kFloat)});
  std::vector<float> rescale(static_cast<std::size_t>(linear.weight.size(0)));
  for (std::size_t c = 0; c < rescale.size(); ++c) rescale[c] = sx * wp.scale[wp.scale.size() == 1 ? 0 : c];
  const std::string scale = g_.floats(path + ".rescale", {static_cast<std::int64_t>(rescale.size())}, rescale);
  return finish(g_.add("Mul", {f, scale}, path));
}

StatusOr<Value> ExportContext::embedding(torch::nn::EmbeddingImpl& embedding, const Value& ids) {
  const std::string& path = path_of(embedding);
  if (embedding.options.max_norm()) {
    return unsupported("Embedding '", path, "': max_norm renormalizes the table at run time and does not export");
  }
  const QuantLayerInfo* info = layer(path);
  const std::string wname = path + ".weight";
  std::string table;
  if (info == nullptr || !info->weight || format_ == Format::kQdq) {
    table = weight_float(wname, embedding.weight, info);
  } else {
    const std::string wq = weight_int8(wname, embedding.weight, *info->weight);
    const auto [ws, wz] = qparams(*info->weight, wname, /*as_signed=*/true);
    table = g_.add("DequantizeLinear", {wq, ws, wz}, wname + "_dequantized", {Attr("axis", 0)});
  }
  return Value{g_.add("Gather", {table, ids.name}, path, {Attr("axis", 0)}), ids.rank < 0 ? -1 : ids.rank + 1,
               std::nullopt};
}

StatusOr<Value> ExportContext::add(const std::string& name, const Value& a, const Value& b, Act act) {
  const std::string y = activation(g_.add("Add", {as_float(a), as_float(b)}, name), act, name);
  const int rank = std::max(a.rank, b.rank);
  const QuantLayerInfo* info = layer(name);
  if (info != nullptr && info->output) {
    Value v = quantize(y, *info->output, name + ".output");
    v.rank = rank;
    return v;
  }
  return Value{y, rank, std::nullopt};
}

StatusOr<Value> ExportContext::layer_norm(torch::nn::LayerNormImpl& norm, const Value& x) {
  const std::string& path = path_of(norm);
  const auto& o = norm.options;
  if (o.normalized_shape().size() != 1) {
    return unsupported("LayerNorm '", path, "': only normalization over the last dim exports (normalized_shape has ",
                       o.normalized_shape().size(), " dims)");
  }
  const std::string xf = as_float(x);
  const float eps = static_cast<float>(o.eps());
  const torch::Tensor w = o.elementwise_affine() ? norm.weight : torch::ones(o.normalized_shape());
  const std::string wname = tensor_initializer(path + ".weight", w);
  if (opset_ >= 17) {
    std::vector<std::string> ins = {xf, wname};
    if (o.elementwise_affine()) ins.push_back(tensor_initializer(path + ".bias", norm.bias));
    return Value{g_.add("LayerNormalization", ins, path, {Attr("axis", -1), Attr("epsilon", eps)}), x.rank, std::nullopt};
  }
  const std::vector<std::int64_t> last = {-1};
  const std::string mean = g_.add("ReduceMean", {xf}, path + ".mean", {Attr("axes", last), Attr("keepdims", 1)});
  const std::string d = g_.add("Sub", {xf, mean}, path + ".centered");
  const std::string sq = g_.add("Mul", {d, d}, path + ".squared");
  const std::string var = g_.add("ReduceMean", {sq}, path + ".var", {Attr("axes", last), Attr("keepdims", 1)});
  const std::string ve = g_.add("Add", {var, g_.scalar_f32(path + ".eps", eps)}, path + ".var_eps");
  const std::string sd = g_.add("Sqrt", {ve}, path + ".std");
  const std::string n = g_.add("Div", {d, sd}, path + ".normalized");
  std::string y = g_.add("Mul", {n, wname}, o.elementwise_affine() ? path + ".scaled" : path);
  if (o.elementwise_affine()) y = g_.add("Add", {y, tensor_initializer(path + ".bias", norm.bias)}, path);
  return Value{y, x.rank, std::nullopt};
}

std::string module_type_name(const torch::nn::Module& module) {
  std::string n = module.name();
  n = n.substr(0, n.find('<'));
  if (const auto pos = n.rfind("::"); pos != std::string::npos) n = n.substr(pos + 2);
  if (n.size() > 4 && n.compare(n.size() - 4, 4, "Impl") == 0) n.resize(n.size() - 4);
  return n;
}

}  // namespace sparsify::ml::onnx_export
