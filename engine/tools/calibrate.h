// Calibration for static quantization: runs a float ONNX model in the engine on sample inputs with
// chosen intermediate tensors added as graph outputs, and records each one's min and max.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/engine.h"
#include "engine/tools/quantize_onnx.h"

namespace sparsify::tools {

/// One set of model inputs, in the model's input order.
using Sample = std::vector<engine::Tensor>;

/// Reads samples from `dir` in ONNX's test-data layout: either input_K.pb files directly in `dir`
/// (one sample) or test_data_set_N/input_K.pb subdirectories (one sample each, in N order). Files
/// that carry names are matched to `input_names`; counts must match. not_found when `dir` holds none.
StatusOr<std::vector<Sample>> read_calibration_dir(const std::string& dir, const std::vector<std::string>& input_names);

/// `count` random samples of the model's input shapes at `batch` (see Engine::input_descs): floats
/// drawn from N(0, 1), integers and bools from {0, 1} so that index inputs stay in range.
StatusOr<std::vector<Sample>> random_samples(const engine::Engine& engine, int count, std::int64_t batch, unsigned seed);

/// Runs `model` (float) on every sample and returns the observed range of each of `tensors`.
/// Graph inputs are measured from the samples; other tensors are added as extra graph outputs.
/// `threads` as in engine::Options. Errors name the tensor or carry the engine's message.
StatusOr<std::map<std::string, Range>> collect_ranges(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                                      const std::vector<Sample>& samples, int threads);

}  // namespace sparsify::tools
