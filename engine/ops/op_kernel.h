// The op interface: one OpInfo row per operator (expanded from ops.def) and the OpContext its
// check, prepare and reference run functions see.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/graph/graph.h"
#include "engine/graph/tensor.h"

namespace sparsify::engine {

/// What a node's functions see: its attributes, its input tensors and its output tensors.
///
/// prepare: inputs carry dtype and dims; `input_value(i)` is non-null only when the contents are
/// known (initializers, folded constants, and always at run time). prepare sets every requested
/// output's dtype and dims with set_output(). If it needs contents that are not known yet it
/// returns defer(), and shapes downstream are resolved at run time instead.
/// run: every input has contents and every requested output is allocated at its prepared dims.
class OpContext {
 public:
  OpContext(const Node& node, std::int64_t opset, std::vector<const Tensor*> inputs,
            std::vector<Tensor>* outputs)
      : node_(node), opset_(opset), inputs_(std::move(inputs)), outputs_(outputs) {}

  const Node& node() const { return node_; }
  /// The model's default-domain opset (7..17).
  std::int64_t opset() const { return opset_; }

  std::size_t num_inputs() const { return inputs_.size(); }
  /// True if input i exists and is not an omitted optional input.
  bool has_input(std::size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  /// Input i (dtype, dims, maybe contents). Must exist.
  const Tensor& input(std::size_t i) const { return *inputs_[i]; }
  /// Input i when its contents are known, else nullptr (also nullptr when omitted).
  const Tensor* input_value(std::size_t i) const {
    return has_input(i) && inputs_[i]->has_data() ? inputs_[i] : nullptr;
  }

  std::size_t num_outputs() const { return outputs_->size(); }
  /// True if output i is requested (named) by the node.
  bool has_output(std::size_t i) const {
    return i < node_.outputs.size() && node_.outputs[i] != kNoValue;
  }
  /// Sets output i's dtype and dims (prepare).
  void set_output(std::size_t i, DType dtype, Dims dims) {
    if (i < outputs_->size()) (*outputs_)[i] = Tensor::shape_only(dtype, std::move(dims));
  }
  /// Output i (run: allocated).
  Tensor& output(std::size_t i) { return (*outputs_)[i]; }

  /// prepare could not finish without input contents; shapes are settled at run time.
  Status defer() {
    deferred_ = true;
    return Status();
  }
  bool deferred() const { return deferred_; }

  bool has_attr(const char* name) const { return node_.find_attribute(name) != nullptr; }
  std::int64_t attr_int(const char* name, std::int64_t fallback) const;
  float attr_float(const char* name, float fallback) const;
  std::string attr_string(const char* name, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const char* name, std::vector<std::int64_t> fallback = {}) const;
  std::vector<float> attr_floats(const char* name, std::vector<float> fallback = {}) const;
  /// Tensor attribute or nullptr.
  const Tensor* attr_tensor(const char* name) const;

  /// invalid_argument prefixed with "<OpType> '<name>': ".
  template <class... Args>
  Status error(const Args&... args) const {
    return invalid_argument(node_.op_type, " '", node_.name, "': ", args...);
  }
  /// unsupported prefixed with "<OpType> '<name>': ".
  template <class... Args>
  Status unsupported_error(const Args&... args) const {
    return unsupported(node_.op_type, " '", node_.name, "': ", args...);
  }

 private:
  const Node& node_;
  std::int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor>* outputs_;
  bool deferred_ = false;
};

using OpFn = Status (*)(OpContext&);

/// Flags of an ops.def row.
enum OpFlags : unsigned {
  kOpNone = 0,
  kOpReadsShapesOnly = 1u << 0,  // run reads input dims, never contents (Shape, Size): fold on shapes
  kOpNoFold = 1u << 1,           // never constant-fold (nondeterministic or huge outputs)
  kOpInternal = 1u << 2,         // made by a graph pass, never read from a model (the importer rejects it)
};

/// One row of ops.def.
struct OpInfo {
  const char* name;
  /// Load-time validation of attributes and opset (no shapes); nullptr when there is nothing to check.
  OpFn check;
  /// Computes output dtypes and dims (see OpContext).
  OpFn prepare;
  /// Reference implementation: plain C++, handles every case check and prepare accept.
  OpFn run;
  int min_opset;  // lowest default-domain opset the implementation follows
  int max_opset;  // highest
  int min_inputs;   // the first min_inputs inputs must be present
  int max_inputs;
  int min_outputs;  // the first min_outputs outputs must be present
  int max_outputs;
  unsigned flags;
};

/// "Any number" in the arity columns of ops.def.
constexpr int kMany = 1 << 20;

/// True if the node names input i (check functions see no tensors, only the node).
inline bool node_has_input(const Node& node, std::size_t i) {
  return i < node.inputs.size() && node.inputs[i] != kNoValue;
}

/// The row for `op_type` in the default domain, or nullptr.
const OpInfo* find_op(const std::string& op_type);
/// Every row of ops.def, in table order.
const std::vector<OpInfo>& all_ops();

}  // namespace sparsify::engine
