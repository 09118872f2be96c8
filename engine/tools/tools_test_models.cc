// Builders for the tools tests' ONNX models, and a hidden test case that writes one to a file for
// the CLI test (tools_test "[.write_model]" with SPARSIFY_TEST_MODEL_OUT=path).
#include "engine/tools/tools_test_models.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/tools/model_io.h"

namespace sparsify::tools::testing {
namespace {

using engine::DType;
using engine::Tensor;

struct Builder {
  onnx::ModelProto m;
  onnx::GraphProto* g;
  std::mt19937 rng;
  explicit Builder(unsigned seed) : rng(seed) {
    m.set_ir_version(7);
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    g = m.mutable_graph();
    g->set_name("test");
  }
  void weight(const std::string& name, engine::Dims dims, float stddev = 0.3f) {
    Tensor t(DType::kFloat32, dims);
    std::normal_distribution<float> d(0.0f, stddev);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
    *g->add_initializer() = make_initializer(name, t);
  }
  void io(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name, engine::Dims dims) {
    auto* v = list->Add();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  onnx::NodeProto* node(const std::string& op, const std::string& name, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void attr(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attrs(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
};

}  // namespace

onnx::ModelProto conv_model(unsigned seed) {
  Builder b(seed);
  b.io(b.g->mutable_input(), "x", {1, 8, 10, 10});
  b.weight("conv1.weight", {16, 8, 3, 3});
  b.weight("conv1.bias", {16}, 0.1f);
  b.weight("dw.weight", {16, 1, 3, 3});
  b.weight("dw.bias", {16}, 0.1f);
  b.weight("fc.weight", {10, 16});
  b.weight("fc.bias", {10}, 0.1f);
  auto* c1 = b.node("Conv", "conv1", {"x", "conv1.weight", "conv1.bias"}, "c1");
  Builder::attrs(c1, "pads", {1, 1, 1, 1});
  Builder::attrs(c1, "kernel_shape", {3, 3});
  b.node("Relu", "relu1", {"c1"}, "r1");
  auto* dw = b.node("Conv", "dw", {"r1", "dw.weight", "dw.bias"}, "c2");
  Builder::attrs(dw, "pads", {1, 1, 1, 1});
  Builder::attr(dw, "group", 16);
  b.node("Relu", "relu2", {"c2"}, "r2");
  b.node("GlobalAveragePool", "gap", {"r2"}, "p");
  b.node("Flatten", "flatten", {"p"}, "f");
  auto* fc = b.node("Gemm", "fc", {"f", "fc.weight", "fc.bias"}, "y");
  Builder::attr(fc, "transB", 1);
  b.io(b.g->mutable_output(), "y", {1, 10});
  return b.m;
}

onnx::ModelProto mlp_model(unsigned seed) {
  Builder b(seed);
  b.io(b.g->mutable_input(), "x", {2, 4, 32});
  b.weight("mm1.weight", {32, 64});
  b.weight("mm1.bias", {64}, 0.1f);
  b.weight("mm2.weight", {64, 16});
  b.node("MatMul", "mm1", {"x", "mm1.weight"}, "h0");
  b.node("Add", "add1", {"h0", "mm1.bias"}, "h1");
  b.node("Relu", "relu", {"h1"}, "h");
  b.node("MatMul", "mm2", {"h", "mm2.weight"}, "y");
  b.io(b.g->mutable_output(), "y", {2, 4, 16});
  return b.m;
}

}  // namespace sparsify::tools::testing

// Hidden: writes conv_model() (or mlp_model() when SPARSIFY_TEST_MODEL=mlp) for the CLI test.
TEST_CASE("write a test model to $SPARSIFY_TEST_MODEL_OUT", "[.write_model]") {
  const char* out = std::getenv("SPARSIFY_TEST_MODEL_OUT");
  REQUIRE(out != nullptr);
  const char* which = std::getenv("SPARSIFY_TEST_MODEL");
  const onnx::ModelProto m = which != nullptr && std::string(which) == "mlp" ? sparsify::tools::testing::mlp_model()
                                                                             : sparsify::tools::testing::conv_model();
  REQUIRE(sparsify::tools::write_model_atomic(m, out).ok());
}
