// ONNX ModelProto helpers shared by the model-rewriting tools (prune, quantize, calibrate):
// read, check, write atomically, and get or replace float initializers. Torch-free.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/graph/tensor.h"

namespace sparsify::tools {

/// Reads and parses the model at `path`. io_error when unreadable, invalid_argument when not ONNX.
StatusOr<onnx::ModelProto> read_model(const std::string& path);

/// Runs onnx::checker::check_model (full check, no shape inference); invalid_argument with the
/// checker's first line on failure.
Status check_model(const onnx::ModelProto& model);

/// Serializes `model` to `path` through a temporary file beside it and a rename, so that readers
/// never see a partial file. io_error naming the path on failure (the temporary is removed).
Status write_model_atomic(const onnx::ModelProto& model, const std::string& path);

/// The initializer called `name` in the main graph, or nullptr.
onnx::TensorProto* find_initializer(onnx::GraphProto& graph, const std::string& name);
const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name);

/// Decodes an initializer (typed fields or raw_data; external data is unsupported, naming it).
StatusOr<engine::Tensor> initializer_tensor(const onnx::TensorProto& proto);

/// Replaces the contents of `proto` (keeping its name) with `values`: its dtype, dims and raw
/// little-endian bytes.
void set_initializer(onnx::TensorProto& proto, const engine::Tensor& values);

/// A new TensorProto named `name` holding `t`.
onnx::TensorProto make_initializer(const std::string& name, const engine::Tensor& t);

/// The integer attribute `name` of `node`, or `fallback`.
std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback);
/// The float attribute `name` of `node`, or `fallback`.
float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback);

/// Default-domain opset of the model (0 when none is declared).
std::int64_t default_opset(const onnx::ModelProto& model);

/// A node's printable name: its ONNX name, or "<op_type>_<index>" as the engine names it.
std::string node_label(const onnx::NodeProto& node, int index);

}  // namespace sparsify::tools
