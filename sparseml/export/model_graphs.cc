// The top-level graph of each architecture in models.def (their forward() outside the blocks), one function per row.
#include <torch/torch.h>

#include "sparseml/export/exporter.h"
#include "sparseml/models/models.h"

namespace sparsify::ml::onnx_export {

using quant::Act;

namespace {

// The module at `path` under `parent`, as T; internal when the model's structure is not the one
// this file was written for (a models/ change that needs an exporter change).
template <class T>
StatusOr<T*> child(models::Model& model, const std::string& path) {
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (item.key() != path) continue;
    if (auto* m = item.value()->as<T>()) return m;
    return internal_error(model.config().arch, ": module '", path, "' is a ", module_type_name(*item.value()),
                          ", not what the exporter expects");
  }
  return internal_error(model.config().arch, ": the exporter expects a module '", path, "'");
}

StatusOr<Value> run(ExportContext& ctx, models::Model& model, const std::string& path, const Value& x) {
  SPARSIFY_ASSIGN_OR_RETURN(torch::nn::Module * m, child<torch::nn::Module>(model, path));
  return ctx.run(*m, x);
}

Value flatten(ExportContext& ctx, const Value& x, const std::string& hint) {
  return ctx.pass_through("Flatten", x, {}, hint, {Attr("axis", 1)}, 2);
}

Value max_pool_2x2(ExportContext& ctx, const Value& x, const std::string& hint) {
  return ctx.pass_through("MaxPool", x, {}, hint,
                          {Attr("kernel_shape", std::vector<std::int64_t>{2, 2}),
                           Attr("strides", std::vector<std::int64_t>{2, 2})},
                          4);
}

StatusOr<Value> linear(ExportContext& ctx, models::Model& model, const std::string& path, const Value& x,
                       Act act = Act::kNone) {
  SPARSIFY_ASSIGN_OR_RETURN(auto* m, child<torch::nn::LinearImpl>(model, path));
  return ctx.linear(*m, x, act);
}

StatusOr<Value> conv(ExportContext& ctx, models::Model& model, const std::string& conv_path, const std::string& bn_path,
                     const Value& x, Act act) {
  SPARSIFY_ASSIGN_OR_RETURN(auto* c, child<torch::nn::Conv2dImpl>(model, conv_path));
  torch::nn::BatchNorm2dImpl* bn = nullptr;
  if (!bn_path.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(bn, child<torch::nn::BatchNorm2dImpl>(model, bn_path));
  }
  return ctx.conv(*c, bn, x, act);
}

}  // namespace

namespace graphs {

// conv1, conv2 (ConvReluPool), flatten, out.
StatusOr<Value> mnist_cnn(ExportContext& ctx, models::Model& model, const Value& input) {
  SPARSIFY_ASSIGN_OR_RETURN(Value x, run(ctx, model, "conv1", input));
  SPARSIFY_ASSIGN_OR_RETURN(x, run(ctx, model, "conv2", x));
  return linear(ctx, model, "out", flatten(ctx, x, "flatten"));
}

// blocks (4 ConvBnAct), classifier.avgpool, flatten, classifier.fc.
StatusOr<Value> mnistnet(ExportContext& ctx, models::Model& model, const Value& input) {
  SPARSIFY_ASSIGN_OR_RETURN(Value x, run(ctx, model, "blocks", input));
  SPARSIFY_ASSIGN_OR_RETURN(x, run(ctx, model, "classifier.avgpool", x));
  return linear(ctx, model, "classifier.fc", flatten(ctx, x, "flatten"));
}

// conv1 + ReLU, max pool 2, conv2 + ReLU, max pool 2, flatten, fc1 + ReLU, fc2 + ReLU, fc3.
StatusOr<Value> lenet5(ExportContext& ctx, models::Model& model, const Value& input) {
  SPARSIFY_ASSIGN_OR_RETURN(Value x, conv(ctx, model, "conv1", "", input, Act::kRelu));
  x = max_pool_2x2(ctx, x, "pool1");
  SPARSIFY_ASSIGN_OR_RETURN(x, conv(ctx, model, "conv2", "", x, Act::kRelu));
  x = max_pool_2x2(ctx, x, "pool2");
  SPARSIFY_ASSIGN_OR_RETURN(x, linear(ctx, model, "fc1", flatten(ctx, x, "flatten"), Act::kRelu));
  SPARSIFY_ASSIGN_OR_RETURN(x, linear(ctx, model, "fc2", x, Act::kRelu));
  return linear(ctx, model, "fc3", x);
}

// conv1 + bn1 + ReLU, maxpool, layer1..layer4, avgpool, flatten, fc.
StatusOr<Value> resnet(ExportContext& ctx, models::Model& model, const Value& input) {
  SPARSIFY_ASSIGN_OR_RETURN(Value x, conv(ctx, model, "conv1", "bn1", input, Act::kRelu));
  for (const char* name : {"maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"}) {
    SPARSIFY_ASSIGN_OR_RETURN(x, run(ctx, model, name, x));
  }
  return linear(ctx, model, "fc", flatten(ctx, x, "flatten"));
}

StatusOr<Value> resnet18(ExportContext& ctx, models::Model& model, const Value& input) { return resnet(ctx, model, input); }
StatusOr<Value> resnet50(ExportContext& ctx, models::Model& model, const Value& input) { return resnet(ctx, model, input); }

// features, global average pool, flatten, classifier (Dropout, Linear).
StatusOr<Value> mobilenet_v2(ExportContext& ctx, models::Model& model, const Value& input) {
  SPARSIFY_ASSIGN_OR_RETURN(Value x, run(ctx, model, "features", input));
  x = ctx.unary("GlobalAveragePool", x, "avgpool");
  x.rank = 4;
  return run(ctx, model, "classifier", flatten(ctx, x, "flatten"));
}

// embeddings, encoder.layer.N, the first token's hidden state, classifier.
StatusOr<Value> bert_encoder(ExportContext& ctx, models::Model& model, const Value& input) {
  SPARSIFY_ASSIGN_OR_RETURN(Value h, run(ctx, model, "embeddings", input));
  SPARSIFY_ASSIGN_OR_RETURN(auto* layers, child<torch::nn::ModuleListImpl>(model, "encoder.layer"));
  for (const auto& layer : layers->children()) {
    SPARSIFY_ASSIGN_OR_RETURN(h, ctx.run(*layer, h));
  }
  GraphBuilder& g = ctx.g();
  const std::string first = g.add("Gather", {ctx.as_float(h), g.scalar_i64("first_token_index", 0)}, "first_token",
                                  {Attr("axis", 1)});
  return linear(ctx, model, "classifier", Value{first, 2, std::nullopt});
}

}  // namespace graphs

StatusOr<Value> export_model_graph(ExportContext& ctx, models::Model& model, const Value& input) {
  using Graph = StatusOr<Value> (*)(ExportContext&, models::Model&, const Value&);
  struct Row {
    const char* name;
    Graph graph;
  };
  // One graph per models.def row: a model added there without a graph here does not compile.
  static constexpr Row kGraphs[] = {
#define SPARSIFY_MODEL(name, input, description) {#name, &graphs::name},
#include "sparseml/models/models.def"
#undef SPARSIFY_MODEL
  };
  for (const Row& row : kGraphs) {
    if (model.config().arch == row.name) return row.graph(ctx, model, input);
  }
  return unsupported("model architecture '", model.config().arch, "' has no ONNX graph");
}

}  // namespace sparsify::ml::onnx_export
