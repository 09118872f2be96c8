// The LibTorch-side export API: a model (or any supported module tree) to a checked ONNX ModelProto, and to files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "engine/base/status.h"
#include "sparseml/export/export.h"
#include "sparseml/export/model_card.h"

namespace sparsify::ml::models { class Model; }

namespace sparsify::ml::onnx_export {

/// How to build the graph.
struct BuildOptions {
  Format format = Format::kFp32;
  int opset = kMinOpset;
  std::int64_t batch_size = 0;            // 0: dynamic (dim_param "batch")
  /// Input shape without the batch dim and dtype. For a models::Model both default to the model's
  /// own (input_shape(1) minus the batch, input_dtype()); other modules must give the shape.
  std::vector<std::int64_t> input_shape;
  torch::ScalarType input_dtype = torch::kFloat;
  std::string input_name;                 // default: "input" ("input_ids" for token models)
  std::string output_name = "logits";
  std::string doc;                        // graph doc_string
};

/// Builds the ONNX model of `module` through the per-module exporter table (module_exporters.def);
/// a models::Model is exported through its architecture's graph (model_graphs.cc). The result has
/// passed onnx::checker::check_model and strict shape inference; returned serialized. qdq/int8 need
/// a models::Model with QAT enabled. Errors: unsupported naming the module path and type the table
/// lacks, invalid_argument for options. Reads the module; does not change it.
StatusOr<std::string> build_onnx(torch::nn::Module& module, const BuildOptions& options);

/// Exporting a model to files.
struct ModelExportOptions {
  std::string output;                     // path of the .onnx file (its directory is created)
  BuildOptions build;
  /// The test inputs (batch first). Written as test_data_set_0/input_0.pb with the model's
  /// outputs as output_0.pb. Required.
  torch::Tensor sample_input;
  ModelCard card;                         // provenance for model.md; the export fields are filled in
};

/// build_onnx(), then writes the model, test_data_set_0 and <stem>.md beside it, each under a
/// temporary name renamed into place (an error leaves no file). Outputs come from model.forward()
/// in eval mode without gradients; for qdq/int8 the QAT model with observers held still (the
/// model's training mode and observer state are restored). fp32 of a model with QAT enabled is
/// invalid_argument (its forward fake-quantizes). LibTorch errors are converted to Status.
StatusOr<ExportResult> export_model(models::Model& model, const ModelExportOptions& options);

/// Writes `tensor` (float32, int64 or uint8; CPU or not) as a serialized onnx::TensorProto named `name`.
[[nodiscard]] Status write_tensor_pb(const std::string& path, const std::string& name, const torch::Tensor& tensor);

/// The first `n` MNIST test images (normalized as in training) at the model's input size: resized
/// bilinearly when image_size is not the dataset's, repeated over in_channels. `data_dir` empty:
/// data::find_data_dir("mnist"). Errors from loading the data.
StatusOr<torch::Tensor> mnist_samples(const std::string& data_dir, std::int64_t n, std::int64_t in_channels,
                                      std::int64_t image_size);

/// Token ids [n, seq] drawn uniformly from [0, vocab) with a generator seeded by `seed`.
torch::Tensor random_token_ids(std::int64_t n, std::int64_t seq, std::int64_t vocab, std::uint64_t seed);

/// Fraction of exact zeros per prunable (Conv2d/Linear) weight of `model`, in parameter order.
std::vector<LayerSparsity> measure_sparsity(const models::Model& model);

}  // namespace sparsify::ml::onnx_export
