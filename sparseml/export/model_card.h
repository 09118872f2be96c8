// model.md, the model card written beside every export: YAML front matter plus a short body. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparsify::ml::onnx_export {

/// Zero fraction of one prunable weight.
struct LayerSparsity {
  std::string name;                      // "conv2.0.weight"
  std::vector<std::int64_t> shape;
  std::int64_t zeros = 0, numel = 0;
  double sparsity() const { return numel ? static_cast<double>(zeros) / static_cast<double>(numel) : 0.0; }
};

/// What model.md says.
struct ModelCard {
  std::string architecture;              // "mnist_cnn"
  std::string description;               // the models.def line
  std::string dataset;                   // "mnist" or ""
  std::string checkpoint;                // the checkpoint dir exported, or ""
  std::string recipe_source;             // the recipe file training used, or ""
  std::string metrics_json;              // the checkpoint's metrics (JSON object), or ""
  std::string format;                    // "fp32" | "qdq" | "int8"
  int opset = 0;
  std::int64_t batch_size = 0;           // 0: dynamic
  std::string input_name, input_dtype;   // "input", "float32"
  std::vector<std::int64_t> input_shape; // without batch
  std::string output_name;
  std::int64_t num_classes = 0;
  std::vector<std::string> op_types;
  std::vector<LayerSparsity> sparsity;
  bool quantized = false;
};

/// The markdown text: front matter (architecture, dataset, recipe, metrics, export, per-layer
/// sparsity) then a body with usage notes.
std::string render_model_card(const ModelCard& card);

}  // namespace sparsify::ml::onnx_export
