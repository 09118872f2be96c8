// Post-training static quantization of an ONNX model to the QDQ form the engine's fold_qdq pass
// turns into QLinearConv / QLinearMatMul: int8 symmetric weights (per output channel for Conv,
// per tensor for MatMul, as fold_qdq requires), uint8 asymmetric per-tensor activations from
// calibrated ranges, int32 Conv bias with scale x_scale * w_scale. Torch-free.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sparsify::tools {

/// Observed minimum and maximum of a tensor over the calibration inputs.
struct Range {
  float min = 0, max = 0;
};

/// uint8 asymmetric parameters for `r`: the range is widened to include 0 so that 0 is exactly
/// representable (zero_point is an integer in [0, 255]); a zero-width range gets scale 1.
struct QuantParams {
  float scale = 1;
  std::uint8_t zero_point = 0;
};
QuantParams uint8_params(Range r);

/// Rewrites Gemm(alpha 1, beta 1, transA 0, constant rank-2 B, constant or absent C) as
/// MatMul(A, B or B^T) followed by Add(C), exactly, so that it can be quantized like a MatMul.
/// Returns the number of Gemm nodes rewritten. Run before calibration_tensors().
StatusOr<int> gemm_to_matmul(onnx::ModelProto& model);

/// The tensors whose ranges quantize_model() needs, in graph order: the activation input of every
/// quantizable Conv/MatMul (constant weight) and its output, or the output of the Relu/Clip that
/// alone consumes it (that activation is then folded into the output quantization).
/// invalid_argument when the model already holds QuantizeLinear/DequantizeLinear nodes.
StatusOr<std::vector<std::string>> calibration_tensors(const onnx::ModelProto& model);

/// One quantized node, for the per-layer table.
struct QuantReport {
  std::string node, weight;
  std::string kind;  // "int8 per-channel" or "int8 per-tensor"
};

/// Inserts QuantizeLinear/DequantizeLinear pairs around every node calibration_tensors() names,
/// quantizes weights (pruned zeros stay 0) and Conv biases, and removes the folded Relu/Clip.
/// `ranges` must hold every tensor calibration_tensors() returns (else internal naming it).
/// Needs default-domain opset >= 13 (per-axis DequantizeLinear); unsupported otherwise.
StatusOr<std::vector<QuantReport>> quantize_model(onnx::ModelProto& model, const std::map<std::string, Range>& ranges);

}  // namespace sparsify::tools
