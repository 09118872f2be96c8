// Test helper: builds small ONNX models in memory (ModelProto) for the pass and plan tests.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sparsify::engine::testing {

/// A ModelProto under construction. Dims < 0 in input() are the symbol "batch".
class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 13) {
    m_.set_ir_version(8);
    m_.add_opset_import()->set_version(opset);
    g_ = m_.mutable_graph();
    g_->set_name("test");
  }
  void input(const std::string& name, std::vector<std::int64_t> dims, int type = onnx::TensorProto::FLOAT) {
    onnx::ValueInfoProto* v = g_->add_input();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    for (std::int64_t d : dims) {
      if (d < 0) tt->mutable_shape()->add_dim()->set_dim_param("batch");
      else tt->mutable_shape()->add_dim()->set_dim_value(d);
    }
  }
  void output(const std::string& name) { g_->add_output()->set_name(name); }
  /// A float initializer; empty `values` means deterministic pseudo-random in [-1, 1).
  void init(const std::string& name, std::vector<std::int64_t> dims, std::vector<float> values = {}) {
    std::int64_t n = 1;
    for (std::int64_t d : dims) n *= d;
    if (values.empty()) {
      std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>()(name)));
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (std::int64_t i = 0; i < n; ++i) values.push_back(u(rng));
    }
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  /// An integer initializer of ONNX type `type` (INT8, UINT8, INT32, INT64).
  void init_int(const std::string& name, std::vector<std::int64_t> dims, const std::vector<std::int64_t>& values, int type) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (std::int64_t d : dims) t->add_dims(d);
    if (type == onnx::TensorProto::INT64) {
      for (std::int64_t v : values) t->add_int64_data(v);
    } else {
      for (std::int64_t v : values) t->add_int32_data(static_cast<std::int32_t>(v));
    }
  }
  onnx::NodeProto* node(const std::string& op, const std::string& name, std::vector<std::string> ins,
                        std::vector<std::string> outs) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& s : ins) n->add_input(s);
    for (auto& s : outs) n->add_output(s);
    return n;
  }
  static void attr_i(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_f(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr_ints(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t x : v) a->add_ints(x);
  }
  std::string bytes() const { return m_.SerializeAsString(); }

 private:
  onnx::ModelProto m_;
  onnx::GraphProto* g_;
};

/// Conv(3x3, pad 1) -> BatchNormalization -> Relu -> MaxPool(2) -> Add(residual conv) -> Relu ->
/// GlobalAveragePool -> Flatten -> Gemm(+C) -> Clip(0, 6): every fusion and runtime step kind.
inline std::string small_cnn(int channels = 8, int classes = 5) {
  ModelBuilder b;
  const std::int64_t c = channels;
  b.input("x", {-1, 3, 12, 12});
  b.init("w1", {c, 3, 3, 3});
  b.init("bn_scale", {c});
  b.init("bn_bias", {c});
  b.init("bn_mean", {c});
  std::vector<float> var(static_cast<std::size_t>(c));
  for (std::size_t i = 0; i < var.size(); ++i) var[i] = 0.5f + 0.1f * static_cast<float>(i);
  b.init("bn_var", {c}, var);
  b.init("w2", {c, c, 1, 1});
  b.init("b2", {c});
  b.init("fc_w", {classes, c});
  b.init("fc_b", {classes});
  b.init("clip_lo", {}, {0.0f});
  b.init("clip_hi", {}, {6.0f});
  auto* conv = b.node("Conv", "conv1", {"x", "w1"}, {"c1"});
  ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
  b.node("BatchNormalization", "bn1", {"c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"n1"});
  b.node("Relu", "relu1", {"n1"}, {"r1"});
  auto* pool = b.node("MaxPool", "pool1", {"r1"}, {"p1"});
  ModelBuilder::attr_ints(pool, "kernel_shape", {2, 2});
  ModelBuilder::attr_ints(pool, "strides", {2, 2});
  b.node("Conv", "conv2", {"p1", "w2", "b2"}, {"c2"});
  b.node("Add", "residual", {"c2", "p1"}, {"a1"});
  b.node("Relu", "relu2", {"a1"}, {"r2"});
  b.node("GlobalAveragePool", "gap", {"r2"}, {"g1"});
  b.node("Flatten", "flatten", {"g1"}, {"f1"});
  auto* fc = b.node("Gemm", "fc", {"f1", "fc_w", "fc_b"}, {"fc1"});
  ModelBuilder::attr_i(fc, "transB", 1);
  b.node("Clip", "clip", {"fc1", "clip_lo", "clip_hi"}, {"y"});
  b.output("y");
  return b.bytes();
}

}  // namespace sparsify::engine::testing
