// Import error paths: each must be a clean Status with the right code, naming the culprit.
#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <fstream>

#include "engine/engine.h"
#include "engine/graph/onnx_import.h"

namespace sparsify::engine {
namespace {

void add_input(onnx::GraphProto* g, const std::string& name) {
  onnx::ValueInfoProto* v = g->add_input();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(3);
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::string& name,
                          std::vector<std::string> ins, std::vector<std::string> outs) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& s : ins) n->add_input(s);
  for (auto& s : outs) n->add_output(s);
  return n;
}

// x -> Relu -> y
onnx::ModelProto relu_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  add_input(g, "x");
  add_node(g, "Relu", "relu1", {"x"}, {"y"});
  g->add_output()->set_name("y");
  return m;
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = "/tmp/sparsify_import_test_" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST_CASE("a valid model imports and runs with a symbolic batch") {
  auto engine = Engine::load_bytes(relu_model().SerializeAsString());
  REQUIRE(engine.ok());
  for (std::int64_t batch : {1, 4}) {
    Tensor x(DType::kFloat32, {batch, 3});
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i) - 2.0f;
    auto out = engine->run(std::vector<Tensor>{x});
    REQUIRE(out.ok());
    REQUIRE((*out)[0].dims() == Dims{batch, 3});
    CHECK((*out)[0].data<float>()[0] == 0.0f);
    CHECK((*out)[0].data<float>()[2] == 0.0f);
    if (batch > 1) CHECK((*out)[0].data<float>()[4] == 2.0f);
  }
}

TEST_CASE("a truncated file is invalid_argument naming the file") {
  const std::string bytes = relu_model().SerializeAsString();
  const std::string path = write_temp("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  auto g = import_onnx_file(path);
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(g.status().message(), Catch::Contains(path));
  std::remove(path.c_str());
}

TEST_CASE("garbage bytes are invalid_argument") {
  static const char kGarbage[] = "\xff\xfe this is not onnx \x01\x02\x03";
  const std::string path = write_temp("garbage.onnx", std::string(kGarbage, sizeof(kGarbage) - 1));
  auto g = import_onnx_file(path);
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(g.status().message(), Catch::Contains(path));
  std::remove(path.c_str());
}

TEST_CASE("a missing file is io_error naming it") {
  auto g = import_onnx_file("/nonexistent/model.onnx");
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::kIoError);
  CHECK_THAT(g.status().message(), Catch::Contains("/nonexistent/model.onnx"));
}

TEST_CASE("an unknown op is unsupported naming the node and op") {
  onnx::ModelProto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_op_type("FancyOp");
  auto g = import_onnx_bytes(m.SerializeAsString(), ".", "model bytes");
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::kUnsupported);
  CHECK_THAT(g.status().message(),
             Catch::Contains("node 'relu1' (FancyOp): operator FancyOp (ai.onnx, opset 13) is not supported"));
}

TEST_CASE("a node reading an undefined value is invalid_argument naming both") {
  onnx::ModelProto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  auto g = import_onnx_bytes(m.SerializeAsString(), ".", "model bytes");
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(g.status().message(), Catch::Contains("relu1"));
  CHECK_THAT(g.status().message(), Catch::Contains("'nowhere'"));
}

TEST_CASE("a cycle is invalid_argument naming a node on it") {
  onnx::ModelProto m = relu_model();
  onnx::GraphProto* g = m.mutable_graph();
  g->mutable_node(0)->set_input(0, "z");
  add_node(g, "Relu", "relu2", {"y"}, {"z"});
  auto r = import_onnx_bytes(m.SerializeAsString(), ".", "model bytes");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(r.status().message(), Catch::Contains("cycle"));
  CHECK_THAT(r.status().message(), Catch::Contains("relu"));
}

TEST_CASE("an unsupported opset is unsupported") {
  onnx::ModelProto m = relu_model();
  m.mutable_opset_import(0)->set_version(99);
  auto g = import_onnx_bytes(m.SerializeAsString(), ".", "model bytes");
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::kUnsupported);
  CHECK_THAT(g.status().message(), Catch::Contains("opset 99"));
}

TEST_CASE("a shape that contradicts a bound symbol is invalid_argument") {
  auto engine = Engine::load_bytes(relu_model().SerializeAsString());
  REQUIRE(engine.ok());
  auto out = engine->run(std::vector<Tensor>{Tensor(DType::kFloat32, {2, 4})});
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(out.status().message(), Catch::Contains("input 'x'"));
}

TEST_CASE("external data is read relative to the model directory") {
  onnx::ModelProto m = relu_model();
  onnx::GraphProto* g = m.mutable_graph();
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("sparsify_import_test_weights.bin");
  auto* off = w->add_external_data();
  off->set_key("offset");
  off->set_value("4");
  add_node(g, "Add", "add1", {"y", "w"}, {"s"});
  g->mutable_output(0)->set_name("s");
  const float data[4] = {99, 1, 2, 3};
  write_temp("weights.bin", std::string(reinterpret_cast<const char*>(data), sizeof(data)));
  const std::string path = write_temp("external.onnx", m.SerializeAsString());
  auto engine = Engine::load_file(path);
  REQUIRE(engine.ok());
  Tensor x(DType::kFloat32, {1, 3});
  auto out = engine->run(std::vector<Tensor>{x});
  REQUIRE(out.ok());
  CHECK((*out)[0].data<float>()[2] == 3.0f);
  std::remove(path.c_str());
  std::remove("/tmp/sparsify_import_test_weights.bin");
}

}  // namespace
}  // namespace sparsify::engine

namespace sparsify::engine {
namespace {

// x[1,2,5,5] -> Conv(w, b) -> Reshape(shape) -> Gemm(g) -> Softmax -> y
onnx::ModelProto cnn_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  onnx::ValueInfoProto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int d : {1, 2, 5, 5}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  auto add_init = [&](const std::string& name, std::vector<std::int64_t> dims, int type) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    std::int64_t n = 1;
    for (auto d : dims) {
      t->add_dims(d);
      n *= d;
    }
    for (std::int64_t i = 0; i < n; ++i) {
      if (type == onnx::TensorProto::INT64) t->add_int64_data(i == 0 ? 1 : -1);
      else t->add_float_data(0.1f * static_cast<float>(i % 7) - 0.3f);
    }
  };
  add_init("w", {3, 2, 3, 3}, onnx::TensorProto::FLOAT);
  add_init("b", {3}, onnx::TensorProto::FLOAT);
  add_init("shape", {2}, onnx::TensorProto::INT64);
  add_init("g", {27, 4}, onnx::TensorProto::FLOAT);
  onnx::NodeProto* conv = add_node(g, "Conv", "conv", {"x", "w", "b"}, {"c"});
  auto* strides = conv->add_attribute();
  strides->set_name("strides");
  strides->set_type(onnx::AttributeProto::INTS);
  strides->add_ints(2);
  strides->add_ints(2);
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  add_node(g, "Reshape", "reshape", {"c", "shape"}, {"r"});
  add_node(g, "Gemm", "gemm", {"r", "g"}, {"s"});
  add_node(g, "Softmax", "softmax", {"s"}, {"y"});
  g->add_output()->set_name("y");
  return m;
}

// Loads `bytes` and, if that works, runs it on a zero input of the declared shape. Only checks
// that nothing crashes (the sanitizer build turns memory errors into failures).
void load_and_maybe_run(const std::string& bytes) {
  auto engine = Engine::load_bytes(bytes);
  if (!engine.ok()) return;
  std::vector<Tensor> inputs;
  for (ValueId id : engine->graph().inputs) {
    const Value& v = engine->graph().values[id];
    Dims dims;
    if (v.shape) {
      for (const Dim& d : *v.shape) dims.push_back(d.is_known() && d.value < 64 ? d.value : 1);
    }
    inputs.emplace_back(v.dtype == DType::kUndefined ? DType::kFloat32 : v.dtype, dims);
  }
  (void)engine->run(inputs);
}

TEST_CASE("the reference CNN model runs") {
  auto engine = Engine::load_bytes(cnn_model().SerializeAsString());
  REQUIRE(engine.ok());
  auto out = engine->run(std::vector<Tensor>{Tensor(DType::kFloat32, {1, 2, 5, 5})});
  REQUIRE(out.ok());
  REQUIRE((*out)[0].dims() == Dims{1, 4});
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += (*out)[0].data<float>()[i];
  CHECK(sum == Approx(1.0));
}

TEST_CASE("truncated and corrupted models never crash") {
  const std::string good = cnn_model().SerializeAsString();
  for (std::size_t len = 0; len < good.size(); ++len) load_and_maybe_run(good.substr(0, len));
  std::uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    const int flips = 1 + static_cast<int>(next() % 3);
    for (int f = 0; f < flips; ++f) bad[next() % bad.size()] = static_cast<char>(next() & 0xff);
    load_and_maybe_run(bad);
  }
  SUCCEED();
}

}  // namespace
}  // namespace sparsify::engine
