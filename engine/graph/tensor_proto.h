// Conversion of ONNX TensorProto messages (typed fields, raw_data, external data) into Tensors.
#pragma once

#include <string>

#include "engine/base/status.h"
#include "engine/graph/tensor.h"

namespace onnx {
class TensorProto;
}

namespace sparsify::engine {

/// Converts `proto` into a new Tensor. External data is read relative to `base_dir` (the model's
/// directory); locations that are absolute or leave base_dir are invalid_argument. `what` names the
/// tensor in messages ("initializer 'conv1.weight'"). String and complex tensors are unsupported.
StatusOr<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir,
                                   const std::string& what);

/// Parses a serialized TensorProto file (as in ONNX's test_data_set_N/input_K.pb). Sets `name`
/// to the proto's name if non-null.
StatusOr<Tensor> read_tensor_file(const std::string& path, std::string* name = nullptr);

/// Reads a whole file into a string; io_error naming the path on failure.
StatusOr<std::string> read_file_bytes(const std::string& path);

}  // namespace sparsify::engine
