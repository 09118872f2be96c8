// Models by name (one table, models.def) with PyTorch-compatible parameter names, and the Model base class that owns QAT.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "engine/base/status.h"
#include "sparseml/quant/qat.h"
#include "sparseml/recipe/lint.h"

namespace sparsify::ml::models {

/// What to build. Image models read arch, num_classes, in_channels, image_size; bert_encoder reads
/// arch, num_classes and the transformer fields.
struct ModelConfig {
  std::string arch;                 // a name from model_table(), e.g. "resnet18"
  std::int64_t num_classes = 10;
  std::int64_t in_channels = 1;
  std::int64_t image_size = 28;     // square inputs; adaptive-pool models accept other sizes too
  // Transformer (bert_encoder):
  std::int64_t vocab_size = 30522;
  std::int64_t max_seq_len = 128;
  std::int64_t num_layers = 2;
  std::int64_t hidden = 128;
  std::int64_t heads = 2;
  std::int64_t ffn = 512;
};

/// A classifier built by create_model(). forward() routes every conv, linear, embedding and
/// residual add through qat(), so QAT is turned on with `model.qat().enable(settings)`; while it
/// is off forward() runs exactly the float ops. forward() may throw c10::Error on bad input like
/// any LibTorch module; run_forward() converts that to a Status.
class Model : public torch::nn::Module {
 public:
  explicit Model(ModelConfig config);
  ~Model() override = default;

  /// Logits [batch, num_classes] from images [batch, in_channels, H, W] (float) or token ids
  /// [batch, seq] (int64, seq <= max_seq_len) for bert_encoder.
  virtual torch::Tensor forward(torch::Tensor x) = 0;

  /// The model's QAT state; lives as long as the model.
  quant::QatContext& qat() { return qat_; }
  const quant::QatContext& qat() const { return qat_; }
  const ModelConfig& config() const { return config_; }

  /// The input shape for a batch: [batch, in_channels, image_size, image_size], or [batch, max_seq_len].
  virtual std::vector<std::int64_t> input_shape(std::int64_t batch) const;
  /// torch::kFloat for images, torch::kLong for token ids.
  virtual torch::ScalarType input_dtype() const { return torch::kFloat; }
  /// A zero input of input_shape(batch) on the model's device (the QAT probe's input).
  torch::Tensor example_input(std::int64_t batch) const;

 private:
  ModelConfig config_;
  quant::QatContext qat_;
};

/// One row of models.def.
struct ModelInfo {
  std::string name;          // "resnet18"
  std::string input;         // "image" or "tokens"
  std::string description;   // one line, for `--help` listings
};

/// Every model, in models.def order.
const std::vector<ModelInfo>& model_table();

/// Builds a model with freshly initialized weights (the architecture's own init, from the current
/// torch::manual_seed). Unknown arch -> invalid_argument listing the known ones; config values an
/// architecture cannot take -> invalid_argument naming the field and the limit.
StatusOr<std::shared_ptr<Model>> create_model(const ModelConfig& config);

/// Every parameter in named_parameters() order with its shape; prunable = the weight of a Conv2d or
/// Linear module (attention and FFN projections included; embeddings, norms and biases not).
std::vector<recipe::ParamInfo> describe_parameters(const Model& model);

/// model.forward(input) with LibTorch errors converted: invalid_argument with the first line of
/// the message (a wrong input shape or dtype, a sequence longer than max_seq_len).
StatusOr<torch::Tensor> run_forward(Model& model, const torch::Tensor& input);

}  // namespace sparsify::ml::models
