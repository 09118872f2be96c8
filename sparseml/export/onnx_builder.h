// Building an onnx::GraphProto by hand (no LibTorch): nodes with attributes, initializers, constants, unique value names.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

namespace sparsify::ml::onnx_export {

/// One node attribute: INT, FLOAT, INTS or STRING by the value's type.
struct Attr {
  std::string name;
  std::variant<std::int64_t, float, std::vector<std::int64_t>, std::string> value;
  Attr(std::string n, std::int64_t v) : name(std::move(n)), value(v) {}
  Attr(std::string n, int v) : name(std::move(n)), value(std::int64_t{v}) {}
  Attr(std::string n, float v) : name(std::move(n)), value(v) {}
  Attr(std::string n, std::vector<std::int64_t> v) : name(std::move(n)), value(std::move(v)) {}
  Attr(std::string n, const char* v) : name(std::move(n)), value(std::string(v)) {}
};

/// Appends nodes and initializers to a GraphProto it does not own (the graph must outlive the
/// builder). Value names are made unique; initializer names are taken as given (a second
/// initializer of the same name is skipped: one module used twice shares its weights). Not thread-safe.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  /// `base` if unused, else base_1, base_2, ... (reserved on return).
  std::string unique(const std::string& base);

  /// Appends a node of `op_type` (default domain) and returns its single output, named uniquely
  /// after `out_hint`. The node is named after its output.
  std::string add(const std::string& op_type, const std::vector<std::string>& inputs, const std::string& out_hint,
                  std::initializer_list<Attr> attrs = {});
  /// As add(), with a node of several outputs; returns the output names.
  std::vector<std::string> add_multi(const std::string& op_type, const std::vector<std::string>& inputs,
                                     const std::vector<std::string>& out_hints, std::initializer_list<Attr> attrs = {});

  /// Adds an initializer holding `bytes` of raw little-endian data; returns `name`.
  std::string initializer(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                          const void* data, std::size_t bytes);
  bool has_initializer(const std::string& name) const { return initializers_.count(name) != 0; }

  /// Constant initializers with unique names after `hint`.
  std::string scalar_f32(const std::string& hint, float v);
  std::string scalar_i64(const std::string& hint, std::int64_t v);
  std::string scalar_u8(const std::string& hint, std::uint8_t v);
  std::string scalar_i8(const std::string& hint, std::int8_t v);
  std::string ints_1d(const std::string& hint, const std::vector<std::int64_t>& v);
  std::string floats(const std::string& hint, const std::vector<std::int64_t>& dims, const std::vector<float>& v);

  /// Declares a graph input or output of a tensor type. A dim < 0 becomes dim_param `dim_param`.
  void input(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
             const std::string& dim_param = "batch");
  void output(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
              const std::string& dim_param = "batch");

  onnx::GraphProto& graph() { return *graph_; }

 private:
  onnx::GraphProto* graph_;
  std::unordered_set<std::string> names_;
  std::unordered_set<std::string> initializers_;
};

/// A TensorProto with raw little-endian data (the backend-test files' format).
onnx::TensorProto make_tensor(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                              const void* data, std::size_t bytes);

}  // namespace sparsify::ml::onnx_export
