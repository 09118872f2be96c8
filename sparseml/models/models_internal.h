// Factory declarations generated from models.def, and config checks shared by the model files.
#pragma once

#include <memory>

#include "engine/base/status.h"
#include "sparseml/models/models.h"

namespace sparsify::ml::models::detail {

#define SPARSIFY_MODEL(name, input, description) StatusOr<std::shared_ptr<Model>> make_##name(const ModelConfig& config);
#include "sparseml/models/models.def"
#undef SPARSIFY_MODEL

/// invalid_argument "<arch>: <field> is <value>, expected >= <min>" unless value >= min.
Status check_at_least(const ModelConfig& config, const char* field, std::int64_t value, std::int64_t min);

/// He-normal (fan_out, ReLU gain) conv weights and zero conv biases; BN weight 1, bias 0 — the
/// torchvision ResNet/MobileNetV2 init.
void init_conv_bn(torch::nn::Module& model);

}  // namespace sparsify::ml::models::detail
