// GraphBuilder: nodes, attributes, initializers and graph inputs/outputs of a hand-built ONNX graph.
#include "sparseml/export/onnx_builder.h"

namespace sparsify::ml::onnx_export {

namespace {

void set_attr(onnx::NodeProto& node, const Attr& a) {
  onnx::AttributeProto* p = node.add_attribute();
  p->set_name(a.name);
  if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
    p->set_type(onnx::AttributeProto::INT);
    p->set_i(*i);
  } else if (const auto* f = std::get_if<float>(&a.value)) {
    p->set_type(onnx::AttributeProto::FLOAT);
    p->set_f(*f);
  } else if (const auto* v = std::get_if<std::vector<std::int64_t>>(&a.value)) {
    p->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t x : *v) p->add_ints(x);
  } else {
    p->set_type(onnx::AttributeProto::STRING);
    p->set_s(std::get<std::string>(a.value));
  }
}

void set_value_info(onnx::ValueInfoProto* info, const std::string& name, int elem_type,
                    const std::vector<std::int64_t>& dims, const std::string& dim_param) {
  info->set_name(name);
  auto* tt = info->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (std::int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) {
      dim->set_dim_param(dim_param);
    } else {
      dim->set_dim_value(d);
    }
  }
}

}  // namespace

std::string GraphBuilder::unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name) != 0; ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

std::string GraphBuilder::add(const std::string& op_type, const std::vector<std::string>& inputs,
                              const std::string& out_hint, std::initializer_list<Attr> attrs) {
  return add_multi(op_type, inputs, {out_hint}, attrs)[0];
}

std::vector<std::string> GraphBuilder::add_multi(const std::string& op_type, const std::vector<std::string>& inputs,
                                                 const std::vector<std::string>& out_hints,
                                                 std::initializer_list<Attr> attrs) {
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type(op_type);
  for (const auto& in : inputs) node->add_input(in);
  std::vector<std::string> outs;
  for (const auto& hint : out_hints) {
    outs.push_back(unique(hint));
    node->add_output(outs.back());
  }
  node->set_name(outs.empty() ? op_type : outs[0]);
  for (const Attr& a : attrs) set_attr(*node, a);
  return outs;
}

std::string GraphBuilder::initializer(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                                      const void* data, std::size_t bytes) {
  if (!initializers_.insert(name).second) return name;
  names_.insert(name);
  *graph_->add_initializer() = make_tensor(name, elem_type, dims, data, bytes);
  return name;
}

std::string GraphBuilder::scalar_f32(const std::string& hint, float v) {
  return initializer(unique(hint), onnx::TensorProto::FLOAT, {}, &v, sizeof v);
}

std::string GraphBuilder::scalar_i64(const std::string& hint, std::int64_t v) {
  return initializer(unique(hint), onnx::TensorProto::INT64, {}, &v, sizeof v);
}

std::string GraphBuilder::scalar_u8(const std::string& hint, std::uint8_t v) {
  return initializer(unique(hint), onnx::TensorProto::UINT8, {}, &v, sizeof v);
}

std::string GraphBuilder::scalar_i8(const std::string& hint, std::int8_t v) {
  return initializer(unique(hint), onnx::TensorProto::INT8, {}, &v, sizeof v);
}

std::string GraphBuilder::ints_1d(const std::string& hint, const std::vector<std::int64_t>& v) {
  return initializer(unique(hint), onnx::TensorProto::INT64, {static_cast<std::int64_t>(v.size())}, v.data(),
                     v.size() * sizeof(std::int64_t));
}

std::string GraphBuilder::floats(const std::string& hint, const std::vector<std::int64_t>& dims,
                                 const std::vector<float>& v) {
  return initializer(unique(hint), onnx::TensorProto::FLOAT, dims, v.data(), v.size() * sizeof(float));
}

void GraphBuilder::input(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                         const std::string& dim_param) {
  names_.insert(name);
  set_value_info(graph_->add_input(), name, elem_type, dims, dim_param);
}

void GraphBuilder::output(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                          const std::string& dim_param) {
  set_value_info(graph_->add_output(), name, elem_type, dims, dim_param);
}

onnx::TensorProto make_tensor(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                              const void* data, std::size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(elem_type);
  for (std::int64_t d : dims) t.add_dims(d);
  t.set_raw_data(data, bytes);
  return t;
}

}  // namespace sparsify::ml::onnx_export
