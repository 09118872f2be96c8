// ModelProto to Graph: values, initializers, nodes and attributes, then verification and op binding.
#include "engine/graph/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <climits>

#include "engine/graph/tensor_proto.h"
#include "engine/graph/verify.h"
#include "engine/ops/op_kernel.h"

namespace sparsify::engine {
namespace {

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Declared dtype and shape of a graph input, output or value_info entry.
Status read_value_info(const onnx::ValueInfoProto& info, Value& value, bool required) {
  if (!info.has_type()) return Status();
  const onnx::TypeProto& type = info.type();
  if (!type.has_tensor_type()) {
    if (!required) return Status();
    return unsupported("value '", info.name(), "': only tensor values are supported (sequence, map and "
                       "optional types are not)");
  }
  const auto& tt = type.tensor_type();
  if (tt.elem_type() != 0) {
    auto dt = dtype_from_onnx(tt.elem_type());
    if (!dt.ok()) {
      if (!required) return Status();
      return dt.status().with_prefix("value '" + info.name() + "'");
    }
    value.dtype = *dt;
  }
  if (tt.has_shape()) {
    Shape shape;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) shape.push_back(Dim::known(d.dim_value()));
      else if (d.has_dim_param()) shape.push_back(Dim::named(d.dim_param()));
      else shape.push_back(Dim{});
    }
    value.shape = std::move(shape);
  }
  return Status();
}

Status read_attribute(const onnx::AttributeProto& a, const std::string& base_dir, const std::string& where,
                      Attribute& out) {
  out.name = a.name();
  using K = Attribute::Kind;
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT: out.kind = K::kFloat; out.f = a.f(); break;
    case onnx::AttributeProto::INT: out.kind = K::kInt; out.i = a.i(); break;
    case onnx::AttributeProto::STRING: out.kind = K::kString; out.s = a.s(); break;
    case onnx::AttributeProto::TENSOR: {
      out.kind = K::kTensor;
      SPARSIFY_ASSIGN_OR_RETURN(out.t, tensor_from_proto(a.t(), base_dir, where + " attribute '" + a.name() + "'"));
      break;
    }
    case onnx::AttributeProto::FLOATS: out.kind = K::kFloats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
    case onnx::AttributeProto::INTS: out.kind = K::kInts; out.ints.assign(a.ints().begin(), a.ints().end()); break;
    case onnx::AttributeProto::STRINGS: out.kind = K::kStrings; out.strings.assign(a.strings().begin(), a.strings().end()); break;
    case onnx::AttributeProto::GRAPH:
    case onnx::AttributeProto::GRAPHS: out.kind = K::kGraph; break;
    default: out.kind = K::kOther; break;
  }
  return Status();
}

Status import_graph(const onnx::ModelProto& model, const std::string& base_dir, Graph& graph) {
  const onnx::GraphProto& g = model.graph();
  graph.name = g.name();
  if (g.sparse_initializer_size() > 0) return unsupported("graph '", g.name(), "': sparse initializers are not supported");
  for (const onnx::TensorProto& init : g.initializer()) {
    if (init.name().empty()) return invalid_argument("graph '", g.name(), "': an initializer has no name");
    const ValueId id = graph.intern_value(init.name());
    SPARSIFY_ASSIGN_OR_RETURN(graph.values[id].initializer,
                              tensor_from_proto(init, base_dir, "initializer '" + init.name() + "'"));
    graph.values[id].dtype = graph.values[id].initializer.dtype();
  }
  for (const onnx::ValueInfoProto& in : g.input()) {
    const ValueId id = graph.intern_value(in.name());
    Value& v = graph.values[id];
    if (v.is_constant()) continue;  // IR < 4 lists initializers as inputs too; they stay constants
    SPARSIFY_RETURN_IF_ERROR(read_value_info(in, v, /*required=*/true));
    if (v.is_graph_input) return invalid_argument("graph input '", in.name(), "' is listed twice");
    v.is_graph_input = true;
    graph.inputs.push_back(id);
  }
  for (const onnx::ValueInfoProto& info : g.value_info()) {
    const ValueId id = graph.intern_value(info.name());
    SPARSIFY_RETURN_IF_ERROR(read_value_info(info, graph.values[id], /*required=*/false));
  }
  graph.nodes.reserve(g.node_size());
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& np = g.node(i);
    Node node;
    node.op_type = np.op_type();
    node.domain = np.domain();
    node.name = np.name().empty() ? str_cat(np.op_type(), "_", i) : np.name();
    const std::string where = str_cat("node '", node.name, "' (", node.op_type, ")");
    if (is_default_domain(node.domain) && graph.opset == 0) {
      return invalid_argument(where, ": the model does not import the default ONNX domain");
    }
    if (!is_default_domain(node.domain) || (node.op = find_op(node.op_type)) == nullptr ||
        (node.op->flags & kOpInternal) != 0 || graph.opset < node.op->min_opset || graph.opset > node.op->max_opset) {
      return unsupported(where, ": operator ", node.op_type, " (",
                         node.domain.empty() ? "ai.onnx" : node.domain, ", opset ", graph.opset,
                         ") is not supported");
    }
    for (const std::string& name : np.input()) {
      node.inputs.push_back(name.empty() ? kNoValue : graph.intern_value(name));
    }
    for (const std::string& name : np.output()) {
      node.outputs.push_back(name.empty() ? kNoValue : graph.intern_value(name));
    }
    for (const onnx::AttributeProto& a : np.attribute()) {
      Attribute attr;
      SPARSIFY_RETURN_IF_ERROR(read_attribute(a, base_dir, where, attr));
      if (attr.kind == Attribute::Kind::kGraph) {
        return unsupported(where, ": graph attribute '", a.name(), "' (subgraphs) is not supported");
      }
      node.attributes.push_back(std::move(attr));
    }
    graph.nodes.push_back(std::move(node));
  }
  for (const onnx::ValueInfoProto& out : g.output()) {
    const ValueId id = graph.find_value(out.name());
    if (id == kNoValue) return invalid_argument("graph output '", out.name(), "' is not defined");
    SPARSIFY_RETURN_IF_ERROR(read_value_info(out, graph.values[id], /*required=*/true));
    graph.outputs.push_back(id);
  }
  SPARSIFY_RETURN_IF_ERROR(verify_and_sort(graph));
  // Load-time checks: arity from the ops table, then attributes and opset-specific rules.
  for (const Node& node : graph.nodes) {
    const OpInfo& op = *node.op;
    const auto n_in = static_cast<int>(node.inputs.size());
    const auto n_out = static_cast<int>(node.outputs.size());
    if (n_in < op.min_inputs || n_in > op.max_inputs || n_out < op.min_outputs || n_out > op.max_outputs) {
      return invalid_argument("node '", node.name, "' (", node.op_type, "): has ", n_in, " inputs and ", n_out,
                              " outputs; ", node.op_type, " takes ", op.min_inputs, "..", op.max_inputs,
                              " inputs and ", op.min_outputs, "..", op.max_outputs, " outputs");
    }
    for (int i = 0; i < op.min_inputs; ++i) {
      if (node.inputs[i] == kNoValue) {
        return invalid_argument("node '", node.name, "' (", node.op_type, "): required input ", i, " is empty");
      }
    }
    for (int i = 0; i < op.min_outputs; ++i) {
      if (node.outputs[i] == kNoValue) {
        return invalid_argument("node '", node.name, "' (", node.op_type, "): required output ", i, " is empty");
      }
    }
    if (node.op->check == nullptr) continue;
    std::vector<const Tensor*> none(node.inputs.size(), nullptr);
    std::vector<Tensor> outputs(node.outputs.size());
    OpContext ctx(node, graph.opset, none, &outputs);
    Status s = node.op->check(ctx);
    if (!s.ok()) return s;
  }
  return Status();
}

}  // namespace

StatusOr<Graph> import_onnx_bytes(std::string_view bytes, const std::string& base_dir, const std::string& what) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    return unsupported(what, ": models over 2 GiB must keep their weights in external data");
  }
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return invalid_argument(what, ": not a valid ONNX model (protobuf parse failed; truncated or not ONNX)");
  }
  if (model.ir_version() <= 0 || !model.has_graph()) {
    return invalid_argument(what, ": not a valid ONNX model (no ir_version or no graph)");
  }
  Graph graph;
  graph.opset = model.ir_version() < 3 ? 1 : 0;
  for (const auto& op : model.opset_import()) {
    if (is_default_domain(op.domain())) graph.opset = op.version();
  }
  if (graph.opset != 0 && (graph.opset < kMinOpset || graph.opset > kMaxOpset)) {
    return unsupported(what, ": default-domain opset ", graph.opset, " is not supported (supported: ",
                       kMinOpset, "..", kMaxOpset, ")");
  }
  Status s = import_graph(model, base_dir, graph);
  if (!s.ok()) return s.with_prefix(what);
  return graph;
}

StatusOr<Graph> import_onnx_file(const std::string& path) {
  SPARSIFY_ASSIGN_OR_RETURN(std::string bytes, read_file_bytes(path));
  const auto slash = path.find_last_of('/');
  return import_onnx_bytes(bytes, slash == std::string::npos ? "." : path.substr(0, slash), path);
}

}  // namespace sparsify::engine
