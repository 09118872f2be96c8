// ONNX export of trained checkpoints (`sparsify export`): options, result and the entry point. Torch-free header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sparsify::ml::onnx_export {

/// What the exported graph computes with.
///   kFp32: float Conv/Gemm/MatMul; BatchNorm folded into the preceding conv.
///   kQdq:  the float graph with QuantizeLinear/DequantizeLinear where the QAT model fake-quantized
///          (weights int8 per channel, activations uint8 per tensor), with the QAT scales/zero points.
///   kInt8: integer operators (QLinearConv; MatMulInteger with an int32 bias and a float rescale);
///          float ops in between read DequantizeLinear outputs.
enum class Format : std::uint8_t { kFp32, kQdq, kInt8 };

/// "fp32", "qdq", "int8".
const char* format_name(Format format);
/// Parses a format name; invalid_argument lists the valid ones.
StatusOr<Format> parse_format(const std::string& name);

/// The opsets the exporter writes (QuantizeLinear per-axis needs 13; LayerNormalization is used from 17).
inline constexpr int kMinOpset = 13;
inline constexpr int kMaxOpset = 17;

/// Everything `sparsify export` takes.
struct ExportOptions {
  std::string checkpoint;        // OUT, OUT/checkpoints or OUT/checkpoints/epoch-N
  std::string output;            // model file; empty: OUT/export/model.onnx
  Format format = Format::kFp32;
  int opset = kMinOpset;
  std::int64_t batch_size = 0;   // 0: dynamic batch axis (dim_param "batch"); N: fixed
  std::int64_t samples = 8;      // test_data_set_0 batch when the batch is dynamic
  std::string data_dir;          // MNIST for the test samples; empty: the checkpoint's, then the set-up's
};

/// What an export wrote.
struct ExportResult {
  std::string model_path;        // .../model.onnx
  std::string test_data_dir;     // .../test_data_set_0 (input_0.pb, output_0.pb)
  std::string model_card_path;   // .../model.md
  Format format = Format::kFp32;
  int opset = kMinOpset;
  std::int64_t batch_size = 0;
  std::int64_t nodes = 0;
  std::int64_t initializers = 0;
  std::int64_t file_bytes = 0;
  std::vector<std::string> op_types;  // sorted, unique
};

/// Loads a checkpoint (enabling QAT with its recipe's QuantizationModifier when state.json says it
/// was quantized), exports it, and writes the model, test_data_set_0 (real MNIST test images for
/// image models, seeded random token ids otherwise; outputs from the LibTorch model) and model.md
/// beside it. Every file is written under a temporary name and renamed into place, so an error
/// leaves nothing behind. qdq/int8 need a QAT checkpoint (invalid_argument otherwise). LibTorch
/// errors are converted to Status here. Not thread-safe with other Torch work on the same model.
StatusOr<ExportResult> export_checkpoint(const ExportOptions& options);

}  // namespace sparsify::ml::onnx_export
