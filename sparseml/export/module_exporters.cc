// The per-module exporters of module_exporters.def: torch::nn leaf modules, Sequential, and the model blocks.
#include <cmath>

#include <torch/torch.h>

#include "sparseml/export/exporter.h"
#include "sparseml/models/blocks.h"

namespace sparsify::ml::onnx_export {

using quant::Act;

namespace {

using Ints = std::vector<std::int64_t>;

template <std::size_t D>
Ints ints(const torch::ExpandingArray<D>& a) {
  return Ints(a->begin(), a->end());
}

Ints pads_of(const torch::ExpandingArray<2>& p) { return {(*p)[0], (*p)[1], (*p)[0], (*p)[1]}; }

StatusOr<Value> export_conv2d(ExportContext& ctx, const std::string&, torch::nn::Conv2dImpl& m, const Value& x) {
  return ctx.conv(m, nullptr, x, Act::kNone);
}

StatusOr<Value> export_linear(ExportContext& ctx, const std::string&, torch::nn::LinearImpl& m, const Value& x) {
  return ctx.linear(m, x, Act::kNone);
}

// A BatchNorm2d that follows no conv (Sequential folds Conv2d + BatchNorm2d pairs into the conv).
StatusOr<Value> export_batch_norm(ExportContext& ctx, const std::string& path, torch::nn::BatchNorm2dImpl& m,
                                  const Value& x) {
  const auto& o = m.options;
  if (!o.track_running_stats()) {
    return unsupported("BatchNorm2d '", path, "': exporting needs running statistics (track_running_stats)");
  }
  GraphBuilder& g = ctx.g();
  const auto c = m.running_mean.size(0);
  const torch::Tensor w = o.affine() ? m.weight.detach() : torch::ones({c});
  const torch::Tensor b = o.affine() ? m.bias.detach() : torch::zeros({c});
  auto init = [&](const std::string& name, const torch::Tensor& t) {
    const torch::Tensor f = t.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
    return g.initializer(name, onnx::TensorProto::FLOAT, f.sizes().vec(), f.data_ptr<float>(), f.numel() * sizeof(float));
  };
  const std::string y =
      g.add("BatchNormalization",
            {ctx.as_float(x), init(path + ".weight", w), init(path + ".bias", b), init(path + ".running_mean", m.running_mean),
             init(path + ".running_var", m.running_var)},
            ExportContext::hint(path, "batch_norm"), {Attr("epsilon", static_cast<float>(o.eps()))});
  return Value{y, x.rank, std::nullopt};
}

StatusOr<Value> export_relu(ExportContext& ctx, const std::string& path, torch::nn::ReLUImpl&, const Value& x) {
  return ctx.unary("Relu", x, ExportContext::hint(path, "relu"));
}

StatusOr<Value> export_relu6(ExportContext& ctx, const std::string& path, torch::nn::ReLU6Impl&, const Value& x) {
  return Value{ctx.activation(ctx.as_float(x), Act::kRelu6, ExportContext::hint(path, "act")), x.rank, std::nullopt};
}

StatusOr<Value> export_gelu(ExportContext& ctx, const std::string& path, torch::nn::GELUImpl& m, const Value& x) {
  if (m.options.approximate() != "none") {
    return unsupported("GELU '", path, "': approximate='", m.options.approximate(), "' does not export; only 'none' (erf)");
  }
  return Value{ctx.activation(ctx.as_float(x), Act::kGelu, ExportContext::hint(path, "act")), x.rank, std::nullopt};
}

StatusOr<Value> export_sigmoid(ExportContext& ctx, const std::string& path, torch::nn::SigmoidImpl&, const Value& x) {
  return ctx.unary("Sigmoid", x, ExportContext::hint(path, "sigmoid"));
}

StatusOr<Value> export_tanh(ExportContext& ctx, const std::string& path, torch::nn::TanhImpl&, const Value& x) {
  return ctx.unary("Tanh", x, ExportContext::hint(path, "tanh"));
}

StatusOr<Value> export_silu(ExportContext& ctx, const std::string& path, torch::nn::SiLUImpl&, const Value& x) {
  const std::string h = ExportContext::hint(path, "silu");
  const std::string xf = ctx.as_float(x);
  const std::string s = ctx.g().add("Sigmoid", {xf}, h + ".sigmoid");
  return Value{ctx.g().add("Mul", {xf, s}, h), x.rank, std::nullopt};
}

// Max pooling commutes with quantization, so in int8 it runs on uint8 (valid ONNX from opset 12).
StatusOr<Value> export_max_pool(ExportContext& ctx, const std::string& path, torch::nn::MaxPool2dImpl& m,
                                const Value& x) {
  const auto& o = m.options;
  return ctx.pass_through("MaxPool", x, {}, ExportContext::hint(path, "max_pool"),
                          {Attr("kernel_shape", ints(o.kernel_size())), Attr("strides", ints(o.stride())),
                           Attr("pads", pads_of(o.padding())), Attr("dilations", ints(o.dilation())),
                           Attr("ceil_mode", o.ceil_mode() ? 1 : 0)},
                          4);
}

StatusOr<Value> export_avg_pool(ExportContext& ctx, const std::string& path, torch::nn::AvgPool2dImpl& m,
                                const Value& x) {
  const auto& o = m.options;
  if (o.divisor_override()) return unsupported("AvgPool2d '", path, "': divisor_override does not export");
  const std::string y = ctx.g().add("AveragePool", {ctx.as_float(x)}, ExportContext::hint(path, "avg_pool"),
                                    {Attr("kernel_shape", ints(o.kernel_size())), Attr("strides", ints(o.stride())),
                                     Attr("pads", pads_of(o.padding())), Attr("ceil_mode", o.ceil_mode() ? 1 : 0),
                                     Attr("count_include_pad", o.count_include_pad() ? 1 : 0)});
  return Value{y, 4, std::nullopt};
}

StatusOr<Value> export_adaptive_avg_pool(ExportContext& ctx, const std::string& path,
                                         torch::nn::AdaptiveAvgPool2dImpl& m, const Value& x) {
  const auto& size = m.options.output_size();
  for (const auto& d : *size) {
    if (!d || *d != 1) {
      return unsupported("AdaptiveAvgPool2d '", path, "': only output_size 1 (global average pooling) exports");
    }
  }
  return Value{ctx.g().add("GlobalAveragePool", {ctx.as_float(x)}, ExportContext::hint(path, "avg_pool")), 4,
               std::nullopt};
}

StatusOr<Value> export_flatten(ExportContext& ctx, const std::string& path, torch::nn::FlattenImpl& m, const Value& x) {
  if (m.options.start_dim() != 1 || m.options.end_dim() != -1) {
    return unsupported("Flatten '", path, "': only start_dim=1, end_dim=-1 exports (got ", m.options.start_dim(), ", ",
                       m.options.end_dim(), ")");
  }
  return ctx.pass_through("Flatten", x, {}, ExportContext::hint(path, "flatten"), {Attr("axis", 1)}, 2);
}

// Inference-mode dropout is the identity: nothing is emitted.
StatusOr<Value> export_dropout(ExportContext&, const std::string&, torch::nn::DropoutImpl&, const Value& x) { return x; }

StatusOr<Value> export_layer_norm(ExportContext& ctx, const std::string&, torch::nn::LayerNormImpl& m, const Value& x) {
  return ctx.layer_norm(m, x);
}

StatusOr<Value> export_embedding(ExportContext& ctx, const std::string&, torch::nn::EmbeddingImpl& m, const Value& x) {
  return ctx.embedding(m, x);
}

StatusOr<Value> export_softmax(ExportContext& ctx, const std::string& path, torch::nn::SoftmaxImpl& m, const Value& x) {
  const std::string y = ctx.g().add("Softmax", {ctx.as_float(x)}, ExportContext::hint(path, "softmax"),
                                    {Attr("axis", m.options.dim())});
  return Value{y, x.rank, std::nullopt};
}

// Children in order; a Conv2d directly followed by a BatchNorm2d is exported as one folded conv.
StatusOr<Value> export_sequential(ExportContext& ctx, const std::string&, torch::nn::SequentialImpl& m, const Value& x) {
  const auto children = m.children();
  Value v = x;
  for (std::size_t i = 0; i < children.size(); ++i) {
    auto* conv = children[i]->as<torch::nn::Conv2dImpl>();
    auto* bn = i + 1 < children.size() ? children[i + 1]->as<torch::nn::BatchNorm2dImpl>() : nullptr;
    if (conv != nullptr && bn != nullptr) {
      SPARSIFY_ASSIGN_OR_RETURN(v, ctx.conv(*conv, bn, v, Act::kNone));
      ++i;
      continue;
    }
    SPARSIFY_ASSIGN_OR_RETURN(v, ctx.run(*children[i], v));
  }
  return v;
}

// ---- Model blocks (models/blocks.h): the same calls as their forward() --------------------------

StatusOr<Value> export_conv_bn_act(ExportContext& ctx, const std::string&, models::ConvBnAct& m, const Value& x) {
  return ctx.conv(*m.conv, m.bn.get(), x, m.act);
}

StatusOr<Value> export_conv_relu_pool(ExportContext& ctx, const std::string&, models::ConvReluPool& m, const Value& x) {
  SPARSIFY_ASSIGN_OR_RETURN(Value y, ctx.conv(*m.conv, nullptr, x, Act::kRelu));
  return ctx.run(*m.pool, y);
}

StatusOr<Value> shortcut(ExportContext& ctx, const torch::nn::Sequential& downsample, const Value& x) {
  if (!downsample) return x;
  return ctx.conv(*downsample->ptr(0)->as<torch::nn::Conv2dImpl>(), downsample->ptr(1)->as<torch::nn::BatchNorm2dImpl>(),
                  x, Act::kNone);
}

StatusOr<Value> export_basic_block(ExportContext& ctx, const std::string& path, models::BasicBlock& m, const Value& x) {
  SPARSIFY_ASSIGN_OR_RETURN(Value out, ctx.conv(*m.conv1, m.bn1.get(), x, Act::kRelu));
  SPARSIFY_ASSIGN_OR_RETURN(out, ctx.conv(*m.conv2, m.bn2.get(), out, Act::kNone));
  SPARSIFY_ASSIGN_OR_RETURN(Value identity, shortcut(ctx, m.downsample, x));
  return ctx.add(path + ".add", out, identity, Act::kRelu);
}

StatusOr<Value> export_bottleneck(ExportContext& ctx, const std::string& path, models::Bottleneck& m, const Value& x) {
  SPARSIFY_ASSIGN_OR_RETURN(Value out, ctx.conv(*m.conv1, m.bn1.get(), x, Act::kRelu));
  SPARSIFY_ASSIGN_OR_RETURN(out, ctx.conv(*m.conv2, m.bn2.get(), out, Act::kRelu));
  SPARSIFY_ASSIGN_OR_RETURN(out, ctx.conv(*m.conv3, m.bn3.get(), out, Act::kNone));
  SPARSIFY_ASSIGN_OR_RETURN(Value identity, shortcut(ctx, m.downsample, x));
  return ctx.add(path + ".add", out, identity, Act::kRelu);
}

StatusOr<Value> export_inverted_residual(ExportContext& ctx, const std::string& path, models::InvertedResidual& m,
                                         const Value& x) {
  Value y = x;
  if (m.expand) {
    SPARSIFY_ASSIGN_OR_RETURN(y, ctx.conv(*m.expand->conv, m.expand->bn.get(), y, m.expand->act));
  }
  SPARSIFY_ASSIGN_OR_RETURN(y, ctx.conv(*m.depthwise->conv, m.depthwise->bn.get(), y, m.depthwise->act));
  SPARSIFY_ASSIGN_OR_RETURN(y, ctx.conv(*m.project, m.project_bn.get(), y, Act::kNone));
  if (!m.use_residual) return y;
  return ctx.add(path + ".add", x, y, Act::kNone);
}

// Position ids are 0..seq-1 for the graph's (static) sequence length, so they are a constant.
StatusOr<Value> export_bert_embeddings(ExportContext& ctx, const std::string& path, models::BertEmbeddings& m,
                                       const Value& ids) {
  const auto& shape = ctx.input_shape();
  const std::int64_t seq = shape.size() == 2 ? shape[1] : -1;
  const std::int64_t max_seq = m.position_embeddings->options.num_embeddings();
  if (seq < 1 || seq > max_seq) {
    return invalid_argument("BertEmbeddings '", path, "': the input must be token ids [batch, seq] with 1 <= seq <= ",
                            max_seq, " (a static sequence length)");
  }
  Ints positions(static_cast<std::size_t>(seq));
  for (std::int64_t i = 0; i < seq; ++i) positions[static_cast<std::size_t>(i)] = i;
  const Value pos_ids{ctx.g().ints_1d(path + ".position_ids", positions), 1, std::nullopt};
  SPARSIFY_ASSIGN_OR_RETURN(Value words, ctx.embedding(*m.word_embeddings, ids));
  SPARSIFY_ASSIGN_OR_RETURN(Value pos, ctx.embedding(*m.position_embeddings, pos_ids));
  SPARSIFY_ASSIGN_OR_RETURN(Value sum, ctx.add(path + ".add", words, pos, Act::kNone));
  return ctx.layer_norm(*m.norm, sum);
}

// softmax(Q K^T / sqrt(d)) V over `heads` heads; every position attends to every position.
StatusOr<Value> export_encoder_layer(ExportContext& ctx, const std::string& path, models::EncoderLayer& m,
                                     const Value& h) {
  GraphBuilder& g = ctx.g();
  models::SelfAttention& self = *m.attention->self;
  const std::int64_t hidden = self.query->options.in_features(), heads = m.heads, head_dim = hidden / heads;
  const std::string split_shape = g.ints_1d(path + ".heads_shape", {0, 0, heads, head_dim});
  auto split = [&](const Value& t, const Ints& perm, const std::string& name) {
    const std::string r = g.add("Reshape", {ctx.as_float(t), split_shape}, name + "_heads");
    return g.add("Transpose", {r}, name + "_transposed", {Attr("perm", perm)});
  };
  SPARSIFY_ASSIGN_OR_RETURN(Value q, ctx.linear(*self.query, h, Act::kNone));
  SPARSIFY_ASSIGN_OR_RETURN(Value k, ctx.linear(*self.key, h, Act::kNone));
  SPARSIFY_ASSIGN_OR_RETURN(Value v, ctx.linear(*self.value, h, Act::kNone));
  const std::string attn = path + ".attention.self";
  const std::string qh = split(q, {0, 2, 1, 3}, ctx.path_of(*self.query));
  const std::string kt = split(k, {0, 2, 3, 1}, ctx.path_of(*self.key));
  const std::string vh = split(v, {0, 2, 1, 3}, ctx.path_of(*self.value));
  const std::string scores = g.add("MatMul", {qh, kt}, attn + ".scores");
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(head_dim)));
  const std::string scaled = g.add("Div", {scores, g.scalar_f32(attn + ".sqrt_head_dim", scale)}, attn + ".scores_scaled");
  const std::string probs = g.add("Softmax", {scaled}, attn + ".probs", {Attr("axis", -1)});
  const std::string context = g.add("MatMul", {probs, vh}, attn + ".context_heads");
  const std::string merged = g.add("Transpose", {context}, attn + ".context_transposed", {Attr("perm", Ints{0, 2, 1, 3})});
  const std::string flat =
      g.add("Reshape", {merged, g.ints_1d(path + ".hidden_shape", {0, 0, hidden})}, attn + ".context");

  models::DenseAddNorm& attn_out = *m.attention->output;
  SPARSIFY_ASSIGN_OR_RETURN(Value a, ctx.linear(*attn_out.dense, Value{flat, 3, std::nullopt}, Act::kNone));
  SPARSIFY_ASSIGN_OR_RETURN(Value sum1, ctx.add(ctx.path_of(attn_out) + ".add", a, h, Act::kNone));
  SPARSIFY_ASSIGN_OR_RETURN(Value h1, ctx.layer_norm(*attn_out.norm, sum1));
  SPARSIFY_ASSIGN_OR_RETURN(Value inter, ctx.linear(*m.intermediate->dense, h1, Act::kGelu));
  SPARSIFY_ASSIGN_OR_RETURN(Value o, ctx.linear(*m.output->dense, inter, Act::kNone));
  SPARSIFY_ASSIGN_OR_RETURN(Value sum2, ctx.add(ctx.path_of(*m.output) + ".add", o, h1, Act::kNone));
  return ctx.layer_norm(*m.output->norm, sum2);
}

}  // namespace

const std::vector<ModuleExporter>& module_exporters() {
  static const std::vector<ModuleExporter> table = {
#define SPARSIFY_MODULE_EXPORTER(type, cls, fn)                                                          \
  {#type, [](torch::nn::Module& m) { return m.as<cls>() != nullptr; },                                   \
   [](ExportContext& ctx, const std::string& path, torch::nn::Module& m, const Value& x) -> StatusOr<Value> { \
     return fn(ctx, path, *m.as<cls>(), x);                                                              \
   }},
#include "sparseml/export/module_exporters.def"
#undef SPARSIFY_MODULE_EXPORTER
  };
  return table;
}

}  // namespace sparsify::ml::onnx_export
