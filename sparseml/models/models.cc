// The model table (expanded from models.def), create_model(), describe_parameters() and the Model base class.
#include "sparseml/models/models.h"

#include <exception>

#include <torch/torch.h>

#include "sparseml/models/models_internal.h"

namespace sparsify::ml::models {

namespace {

using Factory = StatusOr<std::shared_ptr<Model>> (*)(const ModelConfig&);

struct Row {
  const char* name;
  const char* input;
  const char* description;
  Factory factory;
};

constexpr Row kModels[] = {
#define SPARSIFY_MODEL(name, input, description) {#name, input, description, &detail::make_##name},
#include "sparseml/models/models.def"
#undef SPARSIFY_MODEL
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

namespace detail {

Status check_at_least(const ModelConfig& config, const char* field, std::int64_t value, std::int64_t min) {
  if (value >= min) return Status::ok_status();
  return invalid_argument(config.arch, ": ", field, " is ", value, ", expected >= ", min);
}

void init_conv_bn(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& m : model.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1.0);
      bn->bias.zero_();
    }
  }
}

}  // namespace detail

Model::Model(ModelConfig config)
    : config_(std::move(config)), qat_(*this, [this] { forward(example_input(1)); }) {}

std::vector<std::int64_t> Model::input_shape(std::int64_t batch) const {
  return {batch, config_.in_channels, config_.image_size, config_.image_size};
}

torch::Tensor Model::example_input(std::int64_t batch) const {
  auto options = torch::TensorOptions().dtype(input_dtype());
  for (const auto& p : parameters()) {
    options = options.device(p.device());
    break;
  }
  return torch::zeros(input_shape(batch), options);
}

const std::vector<ModelInfo>& model_table() {
  static const std::vector<ModelInfo> table = [] {
    std::vector<ModelInfo> rows;
    for (const Row& r : kModels) rows.push_back(ModelInfo{r.name, r.input, r.description});
    return rows;
  }();
  return table;
}

StatusOr<std::shared_ptr<Model>> create_model(const ModelConfig& config) {
  const Row* row = nullptr;
  std::string known;
  for (const Row& r : kModels) {
    if (config.arch == r.name) row = &r;
    known += (known.empty() ? "" : ", ") + std::string(r.name);
  }
  if (row == nullptr) return invalid_argument("unknown model '", config.arch, "'; known models: ", known);
  SPARSIFY_RETURN_IF_ERROR(detail::check_at_least(config, "num_classes", config.num_classes, 1));
  if (std::string(row->input) == "image") {
    SPARSIFY_RETURN_IF_ERROR(detail::check_at_least(config, "in_channels", config.in_channels, 1));
  }
  try {
    return row->factory(config);
  } catch (const std::exception& e) {
    return internal_error("building ", config.arch, " failed: ", first_line(e.what()));
  }
}

std::vector<recipe::ParamInfo> describe_parameters(const Model& model) {
  std::vector<std::string> prunable;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (item.value()->as<torch::nn::Conv2d>() != nullptr || item.value()->as<torch::nn::Linear>() != nullptr) {
      prunable.push_back(item.key() + ".weight");
    }
  }
  std::vector<recipe::ParamInfo> out;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    recipe::ParamInfo info;
    info.name = item.key();
    info.shape = item.value().sizes().vec();
    info.prunable = std::find(prunable.begin(), prunable.end(), info.name) != prunable.end();
    out.push_back(std::move(info));
  }
  return out;
}

StatusOr<torch::Tensor> run_forward(Model& model, const torch::Tensor& input) {
  try {
    return model.forward(input);
  } catch (const c10::Error& e) {
    return invalid_argument(model.config().arch, " forward: ", first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return internal_error(model.config().arch, " forward: ", first_line(e.what()));
  }
}

}  // namespace sparsify::ml::models
