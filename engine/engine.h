// Public facade of the inference engine: load an ONNX model, compile it per input-shape set into
// an execution plan (passes, kernel choice, arena offsets), run it with named inputs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/cpu_info.h"
#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/graph/tensor.h"
#include "engine/runtime/sparse_mode.h"

namespace sparsify::engine {

class ExecutionPlan;
class ReferenceExecutor;

/// Compile-time options, fixed when the model is loaded.
struct Options {
  /// Threads the kernels may use; 0 means every logical core.
  int threads = 1;
  /// Highest ISA the kernels may use, on top of the SPARSIFY_ISA environment ceiling.
  std::optional<Isa> isa_ceiling;
  /// > 0: the leading dim of every input declared with a symbolic or unknown leading dim is this
  /// batch size (see Engine::input_descs). 0: dynamic; each new shape set compiles a new plan.
  std::int64_t batch_size = 0;
  /// Run the optimizing passes (fusions, QDQ folding). Constant folding always runs.
  bool optimize = true;
  /// Dense or sparse kernels for Conv/Gemm/MatMul (fp32 and int8) with constant weights: auto
  /// measures every layer and records the choice in the plan dump. The SPARSIFY_SPARSE
  /// environment variable (auto|off|on), when set, overrides kAuto.
  SparseMode sparse = SparseMode::kAuto;
};

/// Name, element type and concrete dims of a compiled input or output.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  Dims dims;
};

/// A model compiled for one set of input shapes: an ExecutionPlan with its arena, or (for graphs
/// whose shapes depend on run-time data) the reference executor. Owned by its Engine and valid
/// until the Engine is destroyed or its cache cleared. Not thread-safe: one run at a time.
class CompiledModel {
 public:
  ~CompiledModel();
  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }

  /// Runs with `inputs` in inputs() order and writes every output into `outputs` (in outputs()
  /// order, each of the compiled dtype and dims; make them once with make_outputs()). On the plan
  /// path this allocates nothing outside reference steps. On the reference fallback (shapes that
  /// depend on input contents) `outputs` is replaced by newly allocated tensors. Errors are invalid_argument naming the
  /// input and what was expected, or an op's error naming the node.
  Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs);
  /// As above with inputs by name; every input must be given, unknown names are not_found.
  Status run(const std::map<std::string, Tensor>& inputs, std::vector<Tensor>& outputs);
  /// Convenience: runs and returns freshly allocated outputs (owned by the caller).
  StatusOr<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);

  /// Output tensors of the compiled dtypes and dims (dtype undefined, no storage, where the
  /// fallback only learns the shape at run time).
  std::vector<Tensor> make_outputs() const;
  /// The plan, or nullptr on the reference fallback (see fallback_reason()).
  const ExecutionPlan* plan() const { return plan_.get(); }
  /// Why the plan could not be built ("" when it was).
  const std::string& fallback_reason() const { return fallback_reason_; }
  /// The plan dump (steps, kernels, rejected alternatives, arena offsets, pass log).
  std::string dump_plan() const;
  /// Times every step of later runs (no-op on the fallback); resets the totals.
  void set_profiling(bool on);
  /// The `top` slowest steps since set_profiling(true), one line each.
  std::string profile_report(std::size_t top) const;

 private:
  friend class Engine;
  CompiledModel() = default;
  std::unique_ptr<ExecutionPlan> plan_;
  std::unique_ptr<ReferenceExecutor> fallback_;
  std::string fallback_reason_;
  std::vector<TensorInfo> inputs_, outputs_;
  std::vector<const Tensor*> input_ptrs_;  // reserved at compile so named runs do not allocate
};

/// A loaded model. Compiles lazily for each distinct set of input shapes and caches the result.
/// Not thread-safe: use one Engine per thread or guard it. Movable.
class Engine {
 public:
  /// Imports the model at `path` (external data relative to its directory). Unsupported
  /// operators are reported here, as an `unsupported` Status naming the node and operator.
  /// An invalid SPARSIFY_ISA is invalid_argument.
  static StatusOr<Engine> load_file(const std::string& path, const Options& options = {});
  /// Imports a serialized ModelProto; `base_dir` resolves external data.
  static StatusOr<Engine> load_bytes(std::string_view bytes, const std::string& base_dir = ".",
                                     const Options& options = {});

  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  /// Names of the inputs to feed (initializers excluded) and of the outputs, in model order.
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  const Graph& graph() const { return *graph_; }
  const Options& options() const { return options_; }
  /// The ISA the kernels may use (detected, capped by SPARSIFY_ISA and options).
  Isa isa() const { return isa_; }

  /// Shape descriptors (no contents) for every input from the declared shapes, with a symbolic or
  /// unknown leading dim set to `batch` (default: options().batch_size, else 1). Other unknown
  /// dims are invalid_argument naming the input and dim.
  StatusOr<std::vector<Tensor>> input_descs(std::int64_t batch = 0) const;

  /// When false, inputs whose dims contradict the model's declared input shapes are accepted
  /// (default true: a contradiction is invalid_argument). Clears the compile cache.
  void set_check_declared_shapes(bool check);

  /// Compiles (or finds in the cache) the model for these input dtypes and dims (contents
  /// ignored). With a fixed batch size, a different leading dim is invalid_argument.
  StatusOr<CompiledModel*> compile(const std::vector<Tensor>& input_descs);

  /// Compiles if needed, runs with inputs in input_names() order; returns new output tensors.
  StatusOr<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);
  /// Runs with named inputs; returns every output by name.
  StatusOr<std::map<std::string, Tensor>> run(const std::map<std::string, Tensor>& inputs);

 private:
  Engine(std::shared_ptr<const Graph> graph, const Options& options, Isa isa);
  static StatusOr<Engine> make(StatusOr<Graph> graph, const Options& options);

  std::shared_ptr<const Graph> graph_;
  Options options_;
  Isa isa_ = Isa::kScalar;
  bool check_declared_shapes_ = true;
  std::map<std::vector<std::pair<DType, Dims>>, std::unique_ptr<CompiledModel>> cache_;
};

}  // namespace sparsify::engine
