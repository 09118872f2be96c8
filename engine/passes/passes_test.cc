// Pass tests: each rewrite fires on its pattern, logs it, and leaves the model's outputs unchanged
// (compared with the same model compiled without the optimizing passes).
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "engine/engine.h"
#include "engine/graph/onnx_import.h"
#include "engine/passes/passes.h"
#include "engine/passes/test_models.h"
#include "engine/runtime/plan.h"

namespace sparsify::engine {
namespace {

using testing::ModelBuilder;

Tensor random_tensor(const Dims& dims, unsigned seed, float lo = -1, float hi = 1) {
  Tensor t(DType::kFloat32, dims);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

std::vector<std::string> op_types(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

bool log_has(const PassState& s, const std::string& pass, const std::string& text) {
  for (const PassLogEntry& e : s.log) {
    if (e.pass == pass && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

// Max |a - b| between the optimized and unoptimized runs of `bytes` on `inputs`.
double max_diff_vs_unoptimized(const std::string& bytes, const std::vector<Tensor>& inputs) {
  Options plain;
  plain.optimize = false;
  auto a = Engine::load_bytes(bytes);
  auto b = Engine::load_bytes(bytes, ".", plain);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto ya = a->run(inputs);
  auto yb = b->run(inputs);
  REQUIRE(ya.ok());
  REQUIRE(yb.ok());
  double d = 0;
  for (std::size_t i = 0; i < ya->size(); ++i) {
    REQUIRE((*ya)[i].dims() == (*yb)[i].dims());
    for (std::int64_t k = 0; k < (*ya)[i].numel(); ++k) {
      d = std::max(d, std::abs((*ya)[i].element_as_double(k) - (*yb)[i].element_as_double(k)));
    }
  }
  return d;
}

TEST_CASE("passes.def: unique names, required passes first-class") {
  std::set<std::string> names;
  bool fold = false;
  for (const PassInfo& p : all_passes()) {
    CHECK(names.insert(p.name).second);
    CHECK(p.fn != nullptr);
    if (std::string(p.name) == "fold_constants") fold = p.required;
  }
  CHECK(fold);
}

TEST_CASE("Conv+BatchNormalization+Relu and Gemm+Clip fuse; outputs unchanged") {
  const std::string bytes = testing::small_cnn();
  auto g = import_onnx_bytes(bytes, ".", "small_cnn");
  REQUIRE(g.ok());
  const std::vector<Tensor> descs = {Tensor::shape_only(DType::kFloat32, {2, 3, 12, 12})};
  auto s = run_passes(*g, descs, true, true);
  REQUIRE(s.ok());
  CHECK(op_types(s->graph) == std::vector<std::string>{"Conv", "MaxPool", "Conv", "GlobalAveragePool", "Flatten", "Gemm"});
  CHECK(log_has(*s, "fuse_residual", "Conv 'conv2' absorbed Add 'residual' (residual)"));
  CHECK(log_has(*s, "fuse_activation", "Conv 'conv2' absorbed Relu 'relu2'"));
  CHECK(log_has(*s, "fuse_conv_bn", "Conv 'conv1' absorbed BatchNormalization 'bn1'"));
  CHECK(log_has(*s, "fuse_activation", "Conv 'conv1' absorbed Relu 'relu1'"));
  CHECK(log_has(*s, "fuse_activation", "Gemm 'fc' absorbed Clip 'clip'"));
  const Epilogue ep = read_epilogue(s->graph.nodes.back());
  CHECK(ep.act == FusedAct::kClip);
  CHECK(ep.alpha == 0.0f);
  CHECK(ep.beta == 6.0f);
  CHECK(max_diff_vs_unoptimized(bytes, {random_tensor({2, 3, 12, 12}, 7)}) < 1e-4);

  auto plain = run_passes(*g, descs, true, /*optimize=*/false);
  REQUIRE(plain.ok());
  CHECK(plain->graph.nodes.size() == 11);
}

TEST_CASE("fold_constants evaluates shape arithmetic; remove_dead_nodes drops unused branches") {
  ModelBuilder b;
  b.input("x", {-1, 4, 6});
  b.init_int("zero", {1}, {0}, onnx::TensorProto::INT64);
  b.init_int("minus1", {1}, {-1}, onnx::TensorProto::INT64);
  b.node("Shape", "shape", {"x"}, {"s"});
  b.node("Gather", "batch", {"s", "zero"}, {"n"});
  b.node("Concat", "target", {"n", "minus1"}, {"t"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  b.node("Reshape", "flat", {"x", "t"}, {"y"});
  b.node("Neg", "unused", {"x"}, {"dead"});
  b.output("y");
  auto g = import_onnx_bytes(b.bytes(), ".", "shape_model");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {3, 4, 6})}, true, false);
  REQUIRE(s.ok());
  CHECK(op_types(s->graph) == std::vector<std::string>{"Reshape"});
  CHECK(log_has(*s, "fold_constants", "folded 3 nodes"));
  CHECK(log_has(*s, "remove_dead_nodes", "Neg 'unused'"));
  const ValueId t = s->graph.find_value("t");
  REQUIRE(s->graph.values[t].is_constant());
  CHECK(s->graph.values[t].initializer.element_as_int(0) == 3);
}

TEST_CASE("MatMul + Add(bias) + Relu becomes one MatMul with a bias and Relu epilogue") {
  ModelBuilder b;
  b.input("x", {2, 5, 16});
  b.init("w", {16, 24});
  b.init("bias", {24});
  b.node("MatMul", "mm", {"x", "w"}, {"m"});
  b.node("Add", "add", {"bias", "m"}, {"a"});
  b.node("Relu", "act", {"a"}, {"y"});
  b.output("y");
  auto g = import_onnx_bytes(b.bytes(), ".", "mlp");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {2, 5, 16})}, true, true);
  REQUIRE(s.ok());
  REQUIRE(op_types(s->graph) == std::vector<std::string>{"MatMul"});
  const Epilogue ep = read_epilogue(s->graph.nodes[0]);
  CHECK(ep.matmul_bias);
  CHECK(ep.act == FusedAct::kRelu);
  CHECK(max_diff_vs_unoptimized(b.bytes(), {random_tensor({2, 5, 16}, 3)}) < 1e-5);
}

// The exported exact GELU after `x`: (x * (1 + erf(x / sqrt(2)))) * 0.5.
void add_gelu(ModelBuilder& b, const std::string& x, const std::string& y) {
  b.init("sqrt2", {}, {1.41421356f});
  b.init("one", {}, {1.0f});
  b.init("half", {}, {0.5f});
  b.node("Div", "g_div", {x, "sqrt2"}, {"g_d"});
  b.node("Erf", "g_erf", {"g_d"}, {"g_e"});
  b.node("Add", "g_add", {"g_e", "one"}, {"g_a"});
  b.node("Mul", "g_mul1", {x, "g_a"}, {"g_m"});
  b.node("Mul", "g_mul2", {"g_m", "half"}, {y});
}

TEST_CASE("fuse_gelu: MatMul + bias + exact GELU becomes one MatMul with a Gelu epilogue") {
  ModelBuilder b;
  b.input("x", {2, 5, 16});
  b.init("w", {16, 40});
  b.init("bias", {40});
  b.node("MatMul", "mm", {"x", "w"}, {"m"});
  b.node("Add", "add", {"bias", "m"}, {"a"});
  add_gelu(b, "a", "y");
  b.output("y");
  auto g = import_onnx_bytes(b.bytes(), ".", "gelu");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {2, 5, 16})}, true, true);
  REQUIRE(s.ok());
  REQUIRE(op_types(s->graph) == std::vector<std::string>{"MatMul"});
  CHECK(read_epilogue(s->graph.nodes[0]).act == FusedAct::kGelu);
  CHECK(log_has(*s, "fuse_gelu", "absorbed the GELU"));
  CHECK(max_diff_vs_unoptimized(b.bytes(), {random_tensor({2, 5, 16}, 3, -4, 4)}) < 1e-5);
}

TEST_CASE("fuse_gelu: after an Add of two activations (int8 models' bias Add); kept after a graph input") {
  ModelBuilder b;
  b.input("x", {5, 7000});
  b.input("z", {5, 7000});
  b.node("Add", "add", {"x", "z"}, {"a"});
  add_gelu(b, "a", "y");
  b.output("y");
  auto g = import_onnx_bytes(b.bytes(), ".", "gelu_add");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {5, 7000}), Tensor::shape_only(DType::kFloat32, {5, 7000})}, true, true);
  REQUIRE(s.ok());
  REQUIRE(op_types(s->graph) == std::vector<std::string>{"Add"});
  CHECK(read_epilogue(s->graph.nodes[0]).act == FusedAct::kGelu);
  CHECK(max_diff_vs_unoptimized(b.bytes(), {random_tensor({5, 7000}, 5, -4, 4), random_tensor({5, 7000}, 6, -4, 4)}) < 1e-5);

  ModelBuilder c;
  c.input("x", {3, 7});
  add_gelu(c, "x", "y");
  c.output("y");
  auto g2 = import_onnx_bytes(c.bytes(), ".", "gelu_input");
  REQUIRE(g2.ok());
  auto s2 = run_passes(*g2, {Tensor::shape_only(DType::kFloat32, {3, 7})}, true, true);
  REQUIRE(s2.ok());
  CHECK(op_types(s2->graph).size() == 5);  // x has no producer to carry the epilogue
}

TEST_CASE("fold_transpose_matmul + fuse_matmul_scale: attention's head Transposes and 1/sqrt(d) fold into the MatMuls") {
  ModelBuilder b(13);
  b.input("q", {2, 6, 3, 4});
  b.input("k", {2, 6, 3, 4});
  b.input("v", {2, 6, 3, 4});
  auto perm = [&](const char* name, const char* in, const char* out, std::vector<std::int64_t> p) {
    onnx::NodeProto* n = b.node("Transpose", name, {in}, {out});
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("perm");
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t x : p) a->add_ints(x);
  };
  perm("tq", "q", "qt", {0, 2, 1, 3});
  perm("tk", "k", "kt", {0, 2, 3, 1});
  perm("tv", "v", "vt", {0, 2, 1, 3});
  b.init("scale", {}, {2.0f});
  b.node("MatMul", "qk", {"qt", "kt"}, {"s0"});
  b.node("Div", "div", {"s0", "scale"}, {"s"});
  b.node("Softmax", "sm", {"s"}, {"p"});
  b.node("MatMul", "pv", {"p", "vt"}, {"o"});
  perm("to", "o", "y", {0, 2, 1, 3});
  b.output("y");
  auto g = import_onnx_bytes(b.bytes(), ".", "attention");
  REQUIRE(g.ok());
  const Tensor desc = Tensor::shape_only(DType::kFloat32, {2, 6, 3, 4});
  auto s = run_passes(*g, {desc, desc, desc}, true, true);
  REQUIRE(s.ok());
  CHECK(op_types(s->graph) == std::vector<std::string>{"MatMul", "Softmax", "MatMul"});
  CHECK(log_has(*s, "fold_transpose_matmul", "absorbed the Transposes of A B"));
  CHECK(log_has(*s, "fuse_matmul_scale", "absorbed Div 'div' (alpha 0.5)"));
  CHECK(max_diff_vs_unoptimized(b.bytes(), {random_tensor({2, 6, 3, 4}, 7), random_tensor({2, 6, 3, 4}, 8),
                                            random_tensor({2, 6, 3, 4}, 9)}) < 1e-5);
}

TEST_CASE("an Add that is not per-channel stays, with the reason logged") {
  ModelBuilder b;
  b.input("x", {1, 3, 4, 4});
  b.init("w", {2, 3, 1, 1});
  b.init("full", {1, 2, 4, 4});
  b.node("Conv", "conv", {"x", "w"}, {"c"});
  b.node("Add", "add", {"c", "full"}, {"y"});
  b.output("y");
  auto g = import_onnx_bytes(b.bytes(), ".", "conv_add");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {1, 3, 4, 4})}, true, true);
  REQUIRE(s.ok());
  CHECK(op_types(s->graph) == std::vector<std::string>{"Conv", "Add"});
  CHECK(log_has(*s, "fuse_bias", "is not per-channel"));
}

// x -> Q -> DQ -> Conv(DQ(w), DQ(b)) -> Q -> DQ -> y, per-channel int8 weights.
std::string qdq_conv(float bias_scale_error) {
  ModelBuilder b;
  b.input("x", {1, 3, 6, 6});
  const float sx = 0.02f, sy = 0.05f;
  const std::vector<float> sw = {0.01f, 0.02f, 0.015f, 0.03f};
  b.init("sx", {}, {sx});
  b.init_int("zx", {}, {128}, onnx::TensorProto::UINT8);
  b.init("sy", {}, {sy});
  b.init_int("zy", {}, {120}, onnx::TensorProto::UINT8);
  std::vector<std::int64_t> wq;
  for (int i = 0; i < 4 * 3 * 3 * 3; ++i) wq.push_back((i * 37) % 255 - 127);
  b.init_int("wq", {4, 3, 3, 3}, wq, onnx::TensorProto::INT8);
  b.init("sw", {4}, sw);
  b.init_int("zw", {4}, {0, 0, 0, 0}, onnx::TensorProto::INT8);
  b.init_int("bq", {4}, {100, -200, 300, -50}, onnx::TensorProto::INT32);
  std::vector<float> sb;
  for (float s : sw) sb.push_back(sx * s * (1.0f + bias_scale_error));
  b.init("sb", {4}, sb);
  b.node("QuantizeLinear", "qx", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", "dqx", {"xq", "sx", "zx"}, {"xf"});
  ModelBuilder::attr_i(b.node("DequantizeLinear", "dqw", {"wq", "sw", "zw"}, {"wf"}), "axis", 0);
  ModelBuilder::attr_i(b.node("DequantizeLinear", "dqb", {"bq", "sb"}, {"bf"}), "axis", 0);
  ModelBuilder::attr_ints(b.node("Conv", "conv", {"xf", "wf", "bf"}, {"c"}), "pads", {1, 1, 1, 1});
  b.node("QuantizeLinear", "qy", {"c", "sy", "zy"}, {"yq"});
  b.node("DequantizeLinear", "dqy", {"yq", "sy", "zy"}, {"y"});
  b.output("y");
  return b.bytes();
}

TEST_CASE("QDQ around Conv folds into QLinearConv and agrees within one quantization step") {
  const std::string bytes = qdq_conv(0.0f);
  auto g = import_onnx_bytes(bytes, ".", "qdq");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {1, 3, 6, 6})}, true, true);
  REQUIRE(s.ok());
  CHECK(op_types(s->graph) == std::vector<std::string>{"QuantizeLinear", "QLinearConv", "DequantizeLinear"});
  CHECK(log_has(*s, "fold_qdq", "QLinearConv 'conv'"));
  CHECK(max_diff_vs_unoptimized(bytes, {random_tensor({1, 3, 6, 6}, 11, 0.0f, 2.0f)}) <= 0.05 + 1e-6);
}

TEST_CASE("QDQ with a bias scale that is not x_scale * w_scale stays in float") {
  auto g = import_onnx_bytes(qdq_conv(0.01f), ".", "qdq_bad");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {1, 3, 6, 6})}, true, true);
  REQUIRE(s.ok());
  CHECK(log_has(*s, "fold_qdq", "is not x_scale * w_scale"));
  for (const Node& n : s->graph.nodes) CHECK(n.op_type != "QLinearConv");
}

}  // namespace
}  // namespace sparsify::engine
