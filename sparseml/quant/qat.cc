// Quantization-aware training: the QatContext hooks (float path, probe path, fake-quantized path) and its exporter view.
#include "sparseml/quant/qat.h"

#include <algorithm>
#include <exception>

#include <torch/torch.h>

namespace sparsify::ml::quant {

namespace F = torch::nn::functional;

/// One hooked layer: where it is, whether the recipe quantizes it, and its observers.
struct QatContext::Site {
  Kind kind = Kind::kConv;
  std::string name, type, bn_name;
  Act act = Act::kNone;
  bool quantized = false;        // false: excluded by the recipe, runs the float op
  bool own_input = false;        // observes and fake-quantizes its (float) input itself
  bool quantize_output = false;
  std::int64_t weight_channels = -1;  // -1: no weight quantizer
  std::vector<std::string> input_sources;
  Observer weight, input, output;
  torch::nn::Module* module = nullptr;          // conv/linear/embedding; owned by the model
  torch::nn::BatchNorm2dImpl* bn = nullptr;     // folded into a conv, or null
};

namespace {

const char* kind_type(int kind) {
  static const char* const kTypes[] = {"Conv2d", "Linear", "Embedding", "Add", "Activation"};
  return kTypes[kind];
}

torch::Tensor apply_act(const torch::Tensor& y, Act act) {
  switch (act) {
    case Act::kNone: return y;
    case Act::kRelu: return torch::relu(y);
    case Act::kRelu6: return torch::hardtanh(y, 0.0, 6.0);  // what torch::nn::ReLU6 runs
    case Act::kGelu: return torch::gelu(y);                  // exact (erf) GELU, as BERT
  }
  return y;
}

torch::Tensor conv2d(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x, const torch::Tensor& weight,
                     const torch::Tensor& bias) {
  const auto& o = conv.options;
  TORCH_CHECK(c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) != nullptr,
              "QAT supports Conv2d with zero padding only");
  return F::detail::conv2d(x, weight, bias, o.stride(), o.padding(), o.dilation(), o.groups());
}

QuantParams to_params(const Observer& obs) {
  QuantParams p;
  const auto s = obs.scale().detach().to(torch::kCPU).to(torch::kFloat).contiguous();
  const auto z = obs.zero_point().detach().to(torch::kCPU).to(torch::kInt).contiguous();
  p.scale.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
  p.zero_point.assign(z.data_ptr<std::int32_t>(), z.data_ptr<std::int32_t>() + z.numel());
  p.quant_min = obs.range().quant_min;
  p.quant_max = obs.range().quant_max;
  p.axis = obs.per_channel() ? 0 : -1;
  return p;
}

std::shared_ptr<torch::nn::Module> child_or_create(torch::nn::Module& parent, const std::string& key) {
  const auto children = parent.named_children();
  if (const auto* found = children.find(key)) return *found;
  return parent.register_module(key, std::make_shared<torch::nn::Module>("QatScope"));
}

bool starts_with_prefix(const std::string& name, const std::string& prefix) {
  if (prefix.empty() || name == prefix) return true;
  return name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 && name[prefix.size()] == '.';
}

}  // namespace

const char* act_name(Act act) {
  switch (act) {
    case Act::kNone: return "none";
    case Act::kRelu: return "relu";
    case Act::kRelu6: return "relu6";
    case Act::kGelu: return "gelu";
  }
  return "?";
}

QatContext::QatContext(torch::nn::Module& owner, std::function<void()> probe)
    : owner_(owner), probe_(std::move(probe)) {}

QatContext::~QatContext() = default;

bool QatContext::include(Kind kind, const std::string& name) const {
  if (kind == Kind::kEmbedding && !settings_.quantize_embeddings) return false;
  const std::string type = kind_type(static_cast<int>(kind));
  for (const auto& t : settings_.exclude_module_types) {
    if (t == type || (kind == Kind::kAdd && t == "FloatFunctional") || (kind == Kind::kActivation && t == "QuantStub")) {
      return false;
    }
  }
  if (settings_.submodules.empty()) return true;
  return std::any_of(settings_.submodules.begin(), settings_.submodules.end(),
                     [&](const std::string& p) { return starts_with_prefix(name, p); });
}

std::string QatContext::path_of(const void* module) const {
  const auto it = paths_.find(module);
  return it == paths_.end() ? std::string() : it->second;
}

std::string QatContext::scoped_name(const torch::nn::Module& scope, const char* name) const {
  const auto it = paths_.find(&scope);
  TORCH_CHECK(it != paths_.end(), "QAT: scope module of '", name, "' is not part of the model");
  return it->second.empty() ? std::string(name) : it->second + "." + name;
}

QatContext::Site* QatContext::discover(Kind kind, const std::string& name, const torch::Tensor* weight,
                                       const std::vector<torch::Tensor>& inputs, const std::string& bn_name, Act act) {
  if (const auto it = by_name_.find(name); it != by_name_.end()) return it->second;  // a module used twice
  auto site = std::make_unique<Site>();
  site->kind = kind;
  site->name = name;
  site->type = kind_type(static_cast<int>(kind));
  site->bn_name = bn_name;
  site->act = act;
  site->quantized = include(kind, name);
  for (const auto& x : inputs) {
    std::string source;
    for (const auto& [t, producer] : produced_) {
      if (t.data_ptr() == x.data_ptr()) source = producer;
    }
    site->input_sources.push_back(source);
  }
  if (site->quantized) {
    if ((kind == Kind::kConv || kind == Kind::kLinear) && site->input_sources[0].empty()) {
      site->own_input = true;
      site->input_sources[0] = name;
    }
    if (weight != nullptr) site->weight_channels = weight->size(0);
    site->quantize_output = kind == Kind::kAdd || kind == Kind::kActivation ||
                            (kind == Kind::kConv && settings_.quantize_conv_activations) ||
                            (kind == Kind::kLinear && settings_.quantize_linear_activations);
  }
  Site* raw = site.get();
  sites_.push_back(std::move(site));
  by_name_[name] = raw;
  return raw;
}

void QatContext::note_output(const Site& site, const torch::Tensor& out) {
  if (site.quantized && site.quantize_output) produced_.emplace_back(out, site.name);
}

QatContext::Site& QatContext::site_for(const void* module, const char* what) {
  const auto it = by_module_.find(module);
  TORCH_CHECK(it != by_module_.end(), "QAT: a ", what, " module '", path_of(module),
              "' was not seen when QAT was enabled (forward must call the same layers every time)");
  return *it->second;
}

QatContext::Site& QatContext::site_for(const torch::nn::Module& scope, const char* name) {
  const std::string full = scoped_name(scope, name);
  const auto it = by_name_.find(full);
  TORCH_CHECK(it != by_name_.end(), "QAT: layer '", full, "' was not seen when QAT was enabled");
  return *it->second;
}

torch::Tensor QatContext::quant_input(Site& site, const torch::Tensor& x) {
  return site.own_input ? site.input.forward(x, observers_enabled_) : x;
}

torch::Tensor QatContext::quant_output(Site& site, const torch::Tensor& y) {
  return site.quantize_output ? site.output.forward(y, observers_enabled_) : y;
}

torch::Tensor QatContext::conv(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& x,
                               Act act) {
  if (!enabled_ || probing_) {
    torch::Tensor y = conv.forward(x);
    if (bn != nullptr) y = bn->forward(y);
    y = apply_act(y, act);
    if (probing_) {
      const torch::nn::Module* key = &conv;
      Site* s = discover(Kind::kConv, path_of(key), &conv.weight, {x}, bn ? path_of(static_cast<torch::nn::Module*>(bn)) : "", act);
      by_module_[key] = s;
      s->module = &conv;
      s->bn = bn;
      note_output(*s, y);
    }
    return y;
  }
  Site& s = site_for(static_cast<const torch::nn::Module*>(&conv), "Conv2d");
  if (!s.quantized) {
    torch::Tensor y = conv.forward(x);
    if (bn != nullptr) y = bn->forward(y);
    return apply_act(y, act);
  }
  const torch::Tensor xin = quant_input(s, x);
  torch::Tensor y;
  if (bn == nullptr) {
    y = conv2d(conv, xin, s.weight.forward(conv.weight, observers_enabled_), conv.bias);
  } else {
    // ref: PyTorch torch/ao/nn/intrinsic/qat/modules/conv_fused.py, _ConvBnNd._forward_approximate
    // (Jacob et al. 2018, arXiv:1806.08342, section 3.2): with s = gamma / sqrt(running_var + eps),
    //   y = BN(conv(x, fake_quant(w * s), bias=0) / s + b_conv)
    // BN runs on batch statistics while it trains (and updates its running ones), so the scale
    // division cancels exactly in float; after freeze_bn_stats() or in eval it uses running stats,
    // which makes y = conv(x, fake_quant(w * s)) + beta - gamma * (mean - b_conv) / std: the
    // folded conv the exporter writes.
    const auto& o = bn->options;
    const torch::Tensor gamma = o.affine() ? bn->weight : torch::ones_like(bn->running_var);
    const torch::Tensor scale_factor = gamma / torch::sqrt(bn->running_var + o.eps());
    const torch::Tensor folded = conv.weight * scale_factor.reshape({-1, 1, 1, 1});
    y = conv2d(conv, xin, s.weight.forward(folded, observers_enabled_), torch::Tensor());
    y = y / scale_factor.reshape({1, -1, 1, 1});
    if (conv.bias.defined()) y = y + conv.bias.reshape({1, -1, 1, 1});
    if (bn_frozen_) {
      y = torch::batch_norm(y, o.affine() ? bn->weight : torch::Tensor(), o.affine() ? bn->bias : torch::Tensor(),
                            bn->running_mean, bn->running_var, /*training=*/false, /*momentum=*/0.0, o.eps(),
                            torch::cuda::cudnn_is_available());
    } else {
      y = bn->forward(y);
    }
  }
  return quant_output(s, apply_act(y, act));
}

torch::Tensor QatContext::linear(torch::nn::LinearImpl& linear, const torch::Tensor& x, Act act) {
  if (!enabled_ || probing_) {
    torch::Tensor y = apply_act(linear.forward(x), act);
    if (probing_) {
      const torch::nn::Module* key = &linear;
      Site* s = discover(Kind::kLinear, path_of(key), &linear.weight, {x}, "", act);
      by_module_[key] = s;
      s->module = &linear;
      note_output(*s, y);
    }
    return y;
  }
  Site& s = site_for(static_cast<const torch::nn::Module*>(&linear), "Linear");
  if (!s.quantized) return apply_act(linear.forward(x), act);
  const torch::Tensor y = torch::linear(quant_input(s, x), s.weight.forward(linear.weight, observers_enabled_), linear.bias);
  return quant_output(s, apply_act(y, act));
}

torch::Tensor QatContext::embedding(torch::nn::EmbeddingImpl& embedding, const torch::Tensor& ids) {
  if (!enabled_ || probing_) {
    torch::Tensor y = embedding.forward(ids);
    if (probing_) {
      const torch::nn::Module* key = &embedding;
      Site* s = discover(Kind::kEmbedding, path_of(key), &embedding.weight, {}, "", Act::kNone);
      by_module_[key] = s;
      s->module = &embedding;
    }
    return y;
  }
  Site& s = site_for(static_cast<const torch::nn::Module*>(&embedding), "Embedding");
  if (!s.quantized) return embedding.forward(ids);
  const auto& o = embedding.options;
  return F::detail::embedding(ids, s.weight.forward(embedding.weight, observers_enabled_), o.padding_idx(),
                              o.max_norm(), o.norm_type(), o.scale_grad_by_freq(), o.sparse());
}

torch::Tensor QatContext::add(const torch::nn::Module& scope, const torch::Tensor& a, const torch::Tensor& b,
                              const char* name, Act act) {
  if (!enabled_ || probing_) {
    torch::Tensor y = apply_act(a + b, act);
    if (probing_) note_output(*discover(Kind::kAdd, scoped_name(scope, name), nullptr, {a, b}, "", act), y);
    return y;
  }
  Site& s = site_for(scope, name);
  const torch::Tensor y = apply_act(a + b, act);
  return s.quantized ? quant_output(s, y) : y;
}

torch::Tensor QatContext::activation(const torch::nn::Module& scope, const torch::Tensor& x, const char* name) {
  if (!enabled_ || probing_) {
    if (probing_) note_output(*discover(Kind::kActivation, scoped_name(scope, name), nullptr, {x}, "", Act::kNone), x);
    return x;
  }
  Site& s = site_for(scope, name);
  return s.quantized ? quant_output(s, x) : x;
}

torch::Tensor QatContext::preserve(const torch::Tensor& out, const torch::Tensor& in) {
  if (probing_) {
    std::string source;
    for (const auto& [t, producer] : produced_) {
      if (t.data_ptr() == in.data_ptr()) source = producer;
    }
    if (!source.empty()) produced_.emplace_back(out, source);
  }
  return out;
}

Status QatContext::enable(const recipe::QuantSettings& settings) {
  if (enabled_) return invalid_argument("QAT is already enabled on this model");
  if (settings.activation_bits < 2 || settings.activation_bits > 16) {
    return invalid_argument("QuantizationModifier: activation_bits is ", settings.activation_bits, ", expected 2..16");
  }
  if (settings.weight_bits < 2 || settings.weight_bits > 16) {
    return invalid_argument("QuantizationModifier: weight_bits is ", settings.weight_bits, ", expected 2..16");
  }
  if (!probe_) return invalid_argument("QAT: the model gave no probe forward pass");
  for (const auto& child : owner_.named_children()) {
    if (child.key() == "qat") return invalid_argument("QAT: the model already has a child module named 'qat'");
  }
  settings_ = settings;
  sites_.clear();
  by_module_.clear();
  by_name_.clear();
  paths_.clear();
  for (const auto& item : owner_.named_modules("", /*include_self=*/true)) paths_[item.value().get()] = item.key();

  const bool was_training = owner_.is_training();
  std::string error;
  probing_ = true;
  try {
    torch::NoGradGuard no_grad;
    owner_.eval();
    probe_();
  } catch (const std::exception& e) {
    error = e.what();
  }
  probing_ = false;
  produced_.clear();
  owner_.train(was_training);
  if (!error.empty()) {
    sites_.clear();
    by_module_.clear();
    by_name_.clear();
    return invalid_argument("QAT: the probe forward pass failed: ", error.substr(0, error.find('\n')));
  }
  for (const auto& prefix : settings_.submodules) {
    const bool hit = std::any_of(sites_.begin(), sites_.end(),
                                 [&](const auto& s) { return starts_with_prefix(s->name, prefix); });
    if (!hit) {
      std::string names;
      for (const auto& s : sites_) {
        if (s->kind == Kind::kConv || s->kind == Kind::kLinear) names += (names.empty() ? "" : ", ") + s->name;
      }
      sites_.clear();
      by_module_.clear();
      by_name_.clear();
      return invalid_argument("QuantizationModifier: submodules entry '", prefix,
                              "' matches no layer of the model; conv/linear layers: ", names);
    }
  }
  SPARSIFY_RETURN_IF_ERROR(create_buffers());
  enabled_ = true;
  observers_enabled_ = true;
  bn_frozen_ = false;
  return Status::ok_status();
}

Status QatContext::create_buffers() {
  try {
    torch::TensorOptions options = torch::TensorOptions().dtype(torch::kFloat);
    for (const auto& p : owner_.parameters()) {
      options = options.device(p.device());
      break;
    }
    auto root = std::make_shared<torch::nn::Module>("QatState");
    const QuantRange wrange = weight_range(settings_.weight_bits);
    const QuantRange arange = activation_range(settings_.activation_bits, settings_.reduce_range);
    for (auto& site : sites_) {
      if (!site->quantized) continue;
      std::shared_ptr<torch::nn::Module> node = root;
      std::size_t start = 0;
      while (start <= site->name.size()) {
        const std::size_t dot = std::min(site->name.find('.', start), site->name.size());
        node = child_or_create(*node, site->name.substr(start, dot - start));
        start = dot + 1;
      }
      auto add_observer = [&](const char* prefix, Observer& obs, QuantRange range, std::int64_t channels) {
        obs = Observer(range, channels, options);
        const std::string p = prefix;
        node->register_buffer(p + "_min_val", obs.min_val());
        node->register_buffer(p + "_max_val", obs.max_val());
        node->register_buffer(p + "_scale", obs.scale());
        node->register_buffer(p + "_zero_point", obs.zero_point());
      };
      if (site->weight_channels >= 0) add_observer("weight", site->weight, wrange, site->weight_channels);
      if (site->own_input) add_observer("input", site->input, arange, -1);
      if (site->quantize_output) add_observer("output", site->output, arange, -1);
    }
    owner_.register_module("qat", root);
  } catch (const std::exception& e) {
    return internal_error("QAT: creating observer buffers failed: ", e.what());
  }
  return Status::ok_status();
}

QuantLayerInfo QatContext::info(const Site& site) const {
  QuantLayerInfo out;
  out.name = site.name;
  out.type = site.type;
  out.bn = site.bn_name;
  out.act = site.act;
  out.input_sources = site.input_sources;
  if (site.weight.defined()) out.weight = to_params(site.weight);
  if (site.own_input) {
    out.input = to_params(site.input);
  } else if (!site.input_sources.empty() && !site.input_sources[0].empty()) {
    const Site* producer = by_name_.at(site.input_sources[0]);
    if (producer->output.defined()) out.input = to_params(producer->output);
  }
  if (site.output.defined()) out.output = to_params(site.output);
  return out;
}

std::vector<QuantLayerInfo> QatContext::layers() const {
  std::vector<QuantLayerInfo> out;
  for (const auto& s : sites_) {
    if (s->quantized) out.push_back(info(*s));
  }
  return out;
}

StatusOr<QuantLayerInfo> QatContext::layer(std::string_view name) const {
  const auto it = by_name_.find(std::string(name));
  if (it != by_name_.end() && it->second->quantized) return info(*it->second);
  std::string names;
  int listed = 0;
  for (const auto& s : sites_) {
    if (!s->quantized) continue;
    if (++listed > 24) {
      names += ", ...";
      break;
    }
    names += (names.empty() ? "" : ", ") + s->name;
  }
  if (!enabled_) return not_found("QAT layer '", name, "': QAT is not enabled on this model");
  return not_found("QAT layer '", name, "' does not exist or is not quantized; quantized layers: ", names);
}

StatusOr<FoldedWeights> QatContext::folded_weights(std::string_view name) const {
  const auto it = by_name_.find(std::string(name));
  if (it == by_name_.end() || !it->second->quantized || it->second->module == nullptr) {
    return not_found("QAT layer '", name, "' is not a quantized Conv2d, Linear or Embedding layer");
  }
  const Site& site = *it->second;
  try {
    torch::NoGradGuard no_grad;
    FoldedWeights out;
    if (auto* conv = site.module->as<torch::nn::Conv2d>()) {
      out.weight = conv->weight.detach().clone();
      if (conv->bias.defined()) out.bias = conv->bias.detach().clone();
      if (site.bn != nullptr) {
        const auto& o = site.bn->options;
        const torch::Tensor std = torch::sqrt(site.bn->running_var + o.eps());
        const torch::Tensor gamma = o.affine() ? site.bn->weight.detach() : torch::ones_like(std);
        const torch::Tensor beta = o.affine() ? site.bn->bias.detach() : torch::zeros_like(std);
        const torch::Tensor mean = out.bias.defined() ? site.bn->running_mean - out.bias : site.bn->running_mean.clone();
        out.weight = out.weight * (gamma / std).reshape({-1, 1, 1, 1});
        out.bias = beta - gamma * mean / std;
      }
    } else if (auto* linear = site.module->as<torch::nn::Linear>()) {
      out.weight = linear->weight.detach().clone();
      if (linear->bias.defined()) out.bias = linear->bias.detach().clone();
    } else if (auto* embedding = site.module->as<torch::nn::Embedding>()) {
      out.weight = embedding->weight.detach().clone();
    }
    return out;
  } catch (const std::exception& e) {
    return internal_error("QAT layer '", name, "': folding failed: ", e.what());
  }
}

}  // namespace sparsify::ml::quant
