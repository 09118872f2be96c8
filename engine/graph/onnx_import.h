// ONNX import: ModelProto bytes or file to a verified Graph, with every node bound to its ops.def row.
#pragma once

#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/graph/graph.h"

namespace sparsify::engine {

/// Lowest and highest default-domain opsets the importer accepts. Opsets 7..17 are the target;
/// older models load when every op's ops.def row covers their opset (min_opset there).
constexpr std::int64_t kMinOpset = 1;
constexpr std::int64_t kMaxOpset = 17;

/// Reads and imports the model at `path`; external data is resolved relative to its directory.
/// Errors: io_error (cannot read), invalid_argument (not ONNX, undefined value, cycle, bad tensor;
/// the message names the file, node or value), unsupported (operator, opset, dtype, attribute).
StatusOr<Graph> import_onnx_file(const std::string& path);

/// Imports a serialized ModelProto. `base_dir` resolves external data; `what` names the source in
/// messages (a path or "model bytes"). Pure; thread-safe.
StatusOr<Graph> import_onnx_bytes(std::string_view bytes, const std::string& base_dir,
                                  const std::string& what);

}  // namespace sparsify::engine
