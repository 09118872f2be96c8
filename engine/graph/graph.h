// The graph IR: values (inputs, initializers, node outputs), nodes with attributes, and the graph.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/graph/shape.h"
#include "engine/graph/tensor.h"

namespace sparsify::engine {

struct OpInfo;

/// A node attribute, with ONNX's kinds. Graph-valued attributes are recorded but not imported.
struct Attribute {
  enum class Kind : std::uint8_t { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph, kOther };
  std::string name;
  Kind kind = Kind::kOther;
  float f = 0;
  std::int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strings;
};

/// Index of a value in Graph::values; kNoValue marks an omitted optional input or output.
using ValueId = std::int32_t;
constexpr ValueId kNoValue = -1;

/// A named tensor in the graph: a graph input, an initializer, or a node output.
struct Value {
  std::string name;
  DType dtype = DType::kUndefined;  // declared type; kUndefined when not declared
  std::optional<Shape> shape;       // declared shape, if any
  Tensor initializer;               // has_data() for initializers and Constant outputs
  std::int32_t producer = -1;       // index of the producing node, -1 otherwise
  bool is_graph_input = false;
  bool is_constant() const { return initializer.has_data(); }
};

/// One operator application. `op` is resolved from the ops table at import.
struct Node {
  std::string name;  // ONNX name, or "<op_type>_<index>" when the model leaves it empty
  std::string op_type;
  std::string domain;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  std::vector<Attribute> attributes;
  const OpInfo* op = nullptr;

  /// The attribute called `name`, or nullptr.
  const Attribute* find_attribute(const std::string& attr_name) const;
};

/// A verified graph: nodes are stored in a topological order, every input is defined,
/// and `inputs` lists the graph inputs that must be fed (initializers excluded).
struct Graph {
  std::string name;
  std::int64_t opset = 0;  // default-domain opset
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  std::unordered_map<std::string, ValueId> value_by_name;

  /// The value called `name`, or kNoValue.
  ValueId find_value(const std::string& value_name) const;
  /// Returns the id of `name`, adding an empty value first if it is new.
  ValueId intern_value(const std::string& value_name);
};

}  // namespace sparsify::engine
