// What a graph pass sees (the graph being rewritten, the input shapes, the log) and the graph
// editing helpers the passes share.
#pragma once

#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/graph/shape_inference.h"

namespace sparsify::engine {

/// One line of the pass log: which pass did what, to which node. Printed by the plan dump.
struct PassLogEntry {
  std::string pass;
  std::string message;
};

/// State threaded through the passes of one compile. `graph` is a private copy the passes own
/// and rewrite; initializers are shared (shallow) with the loaded model and are never written.
struct PassState {
  Graph graph;
  std::vector<Tensor> input_descs;  // dtype and dims per graph input (contents ignored)
  bool check_declared_shapes = true;
  std::vector<PassLogEntry> log;
  const char* current_pass = "";

  /// Appends "<message>" to the log under the running pass.
  template <class... Args>
  void note(const Args&... args) { log.push_back({current_pass, str_cat(args...)}); }
};

/// Per value: the indices of the nodes that read it (a node reading a value twice appears twice).
std::vector<std::vector<std::int32_t>> value_consumers(const Graph& graph);
/// True if `id` is one of the graph outputs.
bool is_graph_output(const Graph& graph, ValueId id);
/// The single node reading `id` if exactly one node reads it once and it is not a graph output; else -1.
std::int32_t sole_consumer(const Graph& graph, const std::vector<std::vector<std::int32_t>>& consumers, ValueId id);
/// The constant contents of `id`, or nullptr (omitted inputs included).
const Tensor* constant_of(const Graph& graph, ValueId id);
/// Adds an initializer named `<base>` (uniquified) and returns its id.
ValueId add_initializer(Graph& graph, const std::string& base, Tensor value);
/// Sets (adds or replaces) an attribute on `node`.
void set_attribute(Node& node, Attribute attr);
/// Removes the nodes whose `remove` flag is set and recomputes every value's producer.
void remove_nodes(Graph& graph, const std::vector<bool>& remove);

/// Attribute names the fusion passes put on Conv/Gemm/MatMul nodes (internal; never exported).
/// kAttrActivation: string, an activation ops.def row name ("Relu", "Clip", ...).
/// kAttrActivationParams: floats (Clip: min, max; LeakyRelu: alpha; HardSigmoid: alpha, beta).
/// kAttrMatMulBias: int 1 when MatMul's input 2 is a bias added along the last axis.
inline constexpr const char* kAttrActivation = "sparsify.activation";
inline constexpr const char* kAttrActivationParams = "sparsify.activation_params";
inline constexpr const char* kAttrMatMulBias = "sparsify.matmul_bias";
/// kAttrResidual: int 1 when Conv's input 3 (kConvResidualInput) is a skip connection added to the
/// output before the activation (pass fuse_residual).
inline constexpr const char* kAttrResidual = "sparsify.residual";
/// kAttrPermA / kAttrPermB / kAttrPermY: ints, Transposes folded into a MatMul (fold_transpose_matmul):
/// Y = transpose(transpose(A, perm_a) x transpose(B, perm_b), perm_y); the reference MatMul honours them.
inline constexpr const char* kAttrPermA = "sparsify.perm_a";
inline constexpr const char* kAttrPermB = "sparsify.perm_b";
inline constexpr const char* kAttrPermY = "sparsify.perm_y";
/// kAttrAlpha: float, a constant factor folded into a MatMul of two activations (fuse_matmul_scale).
inline constexpr const char* kAttrAlpha = "sparsify.alpha";

#define SPARSIFY_PASS(name, required, description, fn) Status fn(PassState& state);
#include "engine/passes/passes.def"
#undef SPARSIFY_PASS

}  // namespace sparsify::engine
