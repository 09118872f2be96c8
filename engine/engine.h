// Public facade of the inference engine: load an ONNX model, compile per input shape set, run.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/graph/tensor.h"
#include "engine/runtime/executor.h"

namespace sparsify::engine {

/// A loaded model. Compiles lazily for each distinct set of input shapes (dynamic batch) and
/// caches the result. Not thread-safe: use one Engine per thread or guard it.
class Engine {
 public:
  /// Imports the model at `path` (external data relative to its directory). Unsupported
  /// operators are reported here, as an `unsupported` Status naming the node and operator.
  static StatusOr<Engine> load_file(const std::string& path);
  /// Imports a serialized ModelProto; `base_dir` resolves external data.
  static StatusOr<Engine> load_bytes(std::string_view bytes, const std::string& base_dir = ".");

  /// Names of the inputs to feed (initializers excluded) and of the outputs, in model order.
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  const Graph& graph() const { return *graph_; }

  /// When false, inputs whose dims contradict the model's declared input shapes are accepted
  /// (default true: a contradiction is invalid_argument). Clears the compile cache.
  void set_check_declared_shapes(bool check) {
    check_declared_shapes_ = check;
    cache_.clear();
  }

  /// Compiles (or finds in the cache) the executor for these input dtypes and dims (contents ignored).
  StatusOr<const ReferenceExecutor*> compile(const std::vector<Tensor>& input_descs);

  /// Runs with inputs in input_names() order; returns outputs in output_names() order.
  StatusOr<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);
  /// Runs with named inputs; returns every output by name.
  StatusOr<std::map<std::string, Tensor>> run(const std::map<std::string, Tensor>& inputs);

 private:
  explicit Engine(std::shared_ptr<const Graph> graph) : graph_(std::move(graph)) {}

  std::shared_ptr<const Graph> graph_;
  bool check_declared_shapes_ = true;
  std::map<std::vector<std::pair<DType, Dims>>, std::unique_ptr<ReferenceExecutor>> cache_;
};

}  // namespace sparsify::engine
