// Renders model.md: YAML front matter (JSON values are valid YAML flow style) and a markdown body.
#include "sparseml/export/model_card.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sparsify::ml::onnx_export {

namespace {

// A YAML scalar: JSON string quoting is valid YAML.
std::string q(const std::string& s) { return nlohmann::json(s).dump(); }

std::string dims(const std::vector<std::int64_t>& shape, std::int64_t batch) {
  std::string out = "[" + (batch > 0 ? std::to_string(batch) : std::string("batch"));
  for (std::int64_t d : shape) out += ", " + std::to_string(d);
  return out + "]";
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string render_model_card(const ModelCard& c) {
  nlohmann::json metrics = nlohmann::json::object();
  if (!c.metrics_json.empty()) {
    metrics = nlohmann::json::parse(c.metrics_json, nullptr, /*allow_exceptions=*/false);
    if (metrics.is_discarded() || !metrics.is_object()) metrics = nlohmann::json::object();
  }
  std::int64_t zeros = 0, numel = 0;
  for (const auto& l : c.sparsity) {
    zeros += l.zeros;
    numel += l.numel;
  }
  const double overall = numel ? static_cast<double>(zeros) / static_cast<double>(numel) : 0.0;

  std::ostringstream o;
  o << "---\n";
  o << "architecture: " << q(c.architecture) << "\n";
  o << "dataset: " << q(c.dataset) << "\n";
  o << "checkpoint: " << q(c.checkpoint) << "\n";
  o << "recipe_source: " << q(c.recipe_source) << "\n";
  o << "metrics: " << metrics.dump() << "\n";
  if (metrics.contains("test_accuracy")) o << "accuracy: " << metrics["test_accuracy"].dump() << "\n";
  o << "export:\n";
  o << "  format: " << c.format << "\n";
  o << "  opset: " << c.opset << "\n";
  o << "  batch: " << (c.batch_size > 0 ? std::to_string(c.batch_size) : std::string("dynamic")) << "\n";
  o << "  producer: \"sparsify 0.1.0\"\n";
  o << "  op_types: " << nlohmann::json(c.op_types).dump() << "\n";
  o << "input:\n";
  o << "  name: " << q(c.input_name) << "\n";
  o << "  dtype: " << c.input_dtype << "\n";
  o << "  shape: " << dims(c.input_shape, c.batch_size) << "\n";
  o << "output:\n";
  o << "  name: " << q(c.output_name) << "\n";
  o << "  shape: " << dims({c.num_classes}, c.batch_size) << "\n";
  o << "sparsity:\n";
  o << "  prunable_overall: " << fixed(overall, 4) << "\n";
  o << "  layers:\n";
  for (const auto& l : c.sparsity) o << "    " << q(l.name) << ": " << fixed(l.sparsity(), 4) << "\n";
  o << "---\n\n";

  o << "# " << c.architecture << " (" << c.format << ", ONNX opset " << c.opset << ")\n\n";
  if (!c.description.empty()) o << c.description << ".\n\n";
  o << "Exported by `sparsify export`";
  if (!c.checkpoint.empty()) o << " from `" << c.checkpoint << "`";
  if (!c.recipe_source.empty()) o << ", trained with the recipe `" << c.recipe_source << "`";
  o << ". ";
  if (metrics.contains("test_accuracy") && metrics["test_accuracy"].is_number()) {
    o << "Test accuracy at the checkpoint: " << fixed(100.0 * metrics["test_accuracy"].get<double>(), 2) << " %. ";
  }
  o << "Prunable weights are " << fixed(100.0 * overall, 1) << " % zeros (exact zeros are kept in the file).\n\n";
  o << "- Input `" << c.input_name << "`: " << c.input_dtype << " " << dims(c.input_shape, c.batch_size);
  if (c.input_dtype == "float32" && c.dataset == "mnist") {
    o << ", pixels scaled to [0, 1] then normalized with mean 0.1307 and std 0.3081";
  }
  o << ".\n";
  o << "- Output `" << c.output_name << "`: float32 " << dims({c.num_classes}, c.batch_size)
    << " logits (no softmax).\n";
  if (c.format == "qdq") {
    o << "- QuantizeLinear/DequantizeLinear pairs carry the QAT scales and zero points: int8 per-channel "
         "weights (axis 0), uint8 per-tensor activations.\n";
  } else if (c.format == "int8") {
    o << "- Integer operators: QLinearConv for convolutions; MatMulInteger with an int32 bias and a "
         "float rescale for linear layers; pooling and flatten run on uint8; other ops read "
         "DequantizeLinear outputs.\n";
  }
  o << "- `test_data_set_0/` holds `input_0.pb` and `output_0.pb` (onnx.TensorProto): sample inputs and "
       "the LibTorch model's outputs for them: `sparsify run model.onnx --input-dir test_data_set_0` checks parity.\n";
  return o.str();
}

}  // namespace sparsify::ml::onnx_export
