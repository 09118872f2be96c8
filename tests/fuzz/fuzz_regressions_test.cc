// Regression tests for bugs the loader fuzzer found: each model must come back as a clean Status
// (not an out-of-bounds access), and every reproducer in tests/fuzz/regressions/ must load and run
// without a crash (the ASan build turns memory errors into failures).
#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "engine/engine.h"
#include "engine/graph/dtype.h"
#include "engine/graph/shape.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace sparsify::engine {
namespace {

struct Input {
  std::string name;
  Dims dims;
  DType dtype = DType::kFloat32;
};

// One-node model: the inputs are graph inputs of the given dims and types, the output is "y";
// `shape` (optional) is an int64 initializer named "shape" appended as the last node input, and
// `ints` (optional) are integer-list attributes.
using IntsAttrs = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;
std::string one_node_model(const std::string& op, const std::vector<Input>& inputs, int opset = 17,
                           const std::vector<std::int64_t>* shape = nullptr, const IntsAttrs& ints = {}) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("n");
  for (const Input& in : inputs) {
    onnx::ValueInfoProto* v = g->add_input();
    v->set_name(in.name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int>(in.dtype));  // DType values are ONNX's numbers
    auto* dims = tt->mutable_shape();
    for (std::int64_t d : in.dims) dims->add_dim()->set_dim_value(d);
    n->add_input(in.name);
  }
  if (shape) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name("shape");
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(shape->size()));
    for (std::int64_t v : *shape) t->add_int64_data(v);
    n->add_input("shape");
  }
  for (const auto& [name, values] : ints) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t v : values) a->add_ints(v);
  }
  n->add_output("y");
  g->add_output()->set_name("y");
  return m.SerializeAsString();
}

// Loads and runs `bytes` on zero inputs of the declared dims.
StatusOr<std::vector<Tensor>> run_model(const std::string& bytes, const std::vector<Input>& inputs) {
  auto engine = Engine::load_bytes(bytes);
  if (!engine.ok()) return engine.status();
  std::vector<Tensor> tensors;
  for (const Input& in : inputs) tensors.emplace_back(in.dtype, in.dims);
  return engine->run(tensors);
}

Status load_and_run(const std::string& bytes, const std::vector<Input>& inputs) {
  auto out = run_model(bytes, inputs);
  return out.ok() ? Status() : out.status();
}

TEST_CASE("InstanceNormalization rejects scale and B that do not have C elements") {
  // Found by the fuzzer: scale [1] with C = 2 read past the end of scale.
  const std::vector<Input> bad_scale = {{"x", {1, 2, 1, 3}}, {"s", {1}}, {"b", {2}}};
  const Status s = load_and_run(one_node_model("InstanceNormalization", bad_scale), bad_scale);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("expected [2] (C)"));

  const std::vector<Input> bad_bias = {{"x", {1, 2, 3}}, {"s", {2}}, {"b", {2, 1}}};
  CHECK(load_and_run(one_node_model("InstanceNormalization", bad_bias), bad_bias).code() == StatusCode::kInvalidArgument);

  const std::vector<Input> good = {{"x", {1, 2, 3}}, {"s", {2}}, {"b", {2}}};
  CHECK(load_and_run(one_node_model("InstanceNormalization", good), good).ok());
}

TEST_CASE("LayerNormalization rejects Scale and B that do not broadcast to the normalised dims") {
  // Scale [2] over normalised dims [4] read past its end; B of higher rank wrote out of bounds.
  const std::vector<Input> bad_scale = {{"x", {3, 4}}, {"s", {2}}, {"b", {4}}};
  const Status s = load_and_run(one_node_model("LayerNormalization", bad_scale), bad_scale);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("does not broadcast"));

  const std::vector<Input> bad_bias = {{"x", {3, 4}}, {"s", {4}}, {"b", {1, 1, 4}}};
  CHECK(load_and_run(one_node_model("LayerNormalization", bad_bias), bad_bias).code() == StatusCode::kInvalidArgument);

  const std::vector<Input> good = {{"x", {3, 4}}, {"s", {1}}, {"b", {4}}};
  CHECK(load_and_run(one_node_model("LayerNormalization", good), good).ok());
}

TEST_CASE("QuantizeLinear and DequantizeLinear reject a zero point that does not match the scale") {
  // Found by the fuzzer: zero point [1] with a per-axis scale [3] read past the zero point's end.
  const std::vector<Input> deq = {{"x", {2, 3}, DType::kInt8}, {"s", {3}}, {"z", {1}, DType::kInt8}};
  const Status s = load_and_run(one_node_model("DequantizeLinear", deq), deq);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("does not match scale"));

  const std::vector<Input> q = {{"x", {2, 3}}, {"s", {3}}, {"z", {2}, DType::kUInt8}};
  CHECK(load_and_run(one_node_model("QuantizeLinear", q), q).code() == StatusCode::kInvalidArgument);

  const std::vector<Input> good = {{"x", {2, 3}, DType::kInt8}, {"s", {3}}, {"z", {3}, DType::kInt8}};
  CHECK(load_and_run(one_node_model("DequantizeLinear", good), good).ok());
}

TEST_CASE("Reshape to dims whose product overflows int64 is invalid_argument") {
  // Found by the fuzzer (UBSan): the product of the target dims overflowed int64.
  const std::vector<Input> x = {{"x", {2, 3}}};
  const std::vector<std::int64_t> huge = {381, 144114638320041983, -1};
  CHECK(load_and_run(one_node_model("Reshape", x, 17, &huge), x).code() == StatusCode::kInvalidArgument);
  // An empty result whose other dims multiply past int64 is rejected too (later dim products would overflow).
  const std::vector<Input> empty = {{"x", {3, 0}}};
  const std::vector<std::int64_t> empty_huge = {1ll << 40, 0, 1ll << 40};  // the 0 copies x's dim 1
  const Status s = load_and_run(one_node_model("Reshape", empty, 17, &empty_huge), empty);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("is empty but"));
  const std::vector<std::int64_t> ok = {3, -1};
  CHECK(load_and_run(one_node_model("Reshape", x, 17, &ok), x).ok());
  CHECK(dims_numel({1ll << 40, 1ll << 40}) == std::numeric_limits<std::int64_t>::max());
  CHECK(dims_numel({1ll << 40, 1ll << 40, 0}) == 0);
}

TEST_CASE("ScatterElements rejects indices whose rank differs from data's") {
  // Found by the fuzzer: rank-3 indices over rank-2 data read data's dims past their end.
  const std::vector<Input> bad = {{"x", {2, 2}}, {"i", {1, 1, 1}, DType::kInt64}, {"u", {1, 1, 1}}};
  const Status s = load_and_run(one_node_model("ScatterElements", bad), bad);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("ranks differ"));
  const std::vector<Input> good = {{"x", {2, 2}}, {"i", {1, 1}, DType::kInt64}, {"u", {1, 1}}};
  CHECK(load_and_run(one_node_model("ScatterElements", good), good).ok());
}

TEST_CASE("integer MaxPool over a window that lies wholly in the padding gives the type's lowest") {
  // Found by the fuzzer (UBSan): the empty window's -inf was converted to int8.
  const std::vector<Input> x = {{"x", {1, 1, 1, 2}, DType::kInt8}};
  const IntsAttrs attrs = {{"kernel_shape", {1, 1}}, {"pads", {0, 1, 0, 0}}};
  auto out = run_model(one_node_model("MaxPool", x, 17, nullptr, attrs), x);
  REQUIRE(out.ok());
  REQUIRE((*out)[0].dims() == Dims{1, 1, 1, 3});
  CHECK((*out)[0].data<std::int8_t>()[0] == std::numeric_limits<std::int8_t>::lowest());
  CHECK((*out)[0].data<std::int8_t>()[1] == 0);
}

TEST_CASE("LRN, BatchNormalization and Conv with bias over an empty batch do not divide by zero") {
  // Found by the fuzzer (UBSan): LRN divided by N * C with N = 0.
  const std::vector<Input> lrn = {{"x", {0, 3, 2, 2}}};
  auto out = run_model(one_node_model("LRN", lrn), lrn);
  REQUIRE(out.ok());
  CHECK((*out)[0].dims() == Dims{0, 3, 2, 2});

  const std::vector<Input> bn = {{"x", {0, 2, 3}}, {"s", {2}}, {"b", {2}}, {"m", {2}}, {"v", {2}}};
  CHECK(load_and_run(one_node_model("BatchNormalization", bn), bn).ok());

  const std::vector<Input> conv = {{"x", {0, 1, 3, 3}}, {"w", {2, 1, 1, 1}}, {"b", {2}}};
  CHECK(load_and_run(one_node_model("Conv", conv), conv).ok());
}

TEST_CASE("from_double saturates integers and maps NaN to 0") {
  CHECK(from_double<std::int32_t>(-std::numeric_limits<double>::infinity()) == std::numeric_limits<std::int32_t>::min());
  CHECK(from_double<std::uint16_t>(1e9) == 65535);
  CHECK(from_double<std::int64_t>(std::nan("")) == 0);
  CHECK(from_double<std::int32_t>(-7.9) == -7);  // in range: C++ truncation as before
  CHECK(from_double<bool>(std::nan("")));        // bool: v != 0, as before
}

TEST_CASE("saturate_cast is defined for every double") {
  // Clamping to double(max) and casting was UB for 64-bit types (double(INT64_MAX) is 2^63).
  constexpr auto kI64Max = std::numeric_limits<std::int64_t>::max();
  constexpr auto kI64Min = std::numeric_limits<std::int64_t>::min();
  CHECK(saturate_cast<std::int64_t>(1e30) == kI64Max);
  CHECK(saturate_cast<std::int64_t>(9223372036854775808.0) == kI64Max);
  CHECK(saturate_cast<std::int64_t>(-1e30) == kI64Min);
  CHECK(saturate_cast<std::uint64_t>(1e30) == std::numeric_limits<std::uint64_t>::max());
  CHECK(saturate_cast<std::uint64_t>(-5.0) == 0);
  CHECK(saturate_cast<std::int32_t>(std::nan("")) == 0);
  CHECK(saturate_cast<std::int8_t>(127.9) == 127);
  CHECK(saturate_cast<std::int8_t>(-128.9) == -128);
  CHECK(saturate_cast<std::int8_t>(-3.7) == -3);
  CHECK(saturate_cast<std::uint8_t>(std::numeric_limits<double>::infinity()) == 255);
  CHECK(saturate_cast<std::int16_t>(-std::numeric_limits<double>::infinity()) == -32768);
}

TEST_CASE("every fuzzer reproducer in tests/fuzz/regressions loads and runs without a crash") {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(SPARSIFY_FUZZ_REGRESSIONS)) {
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string bytes = ss.str();
    INFO(e.path().string());
    CHECK(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) == 0);
    ++n;
  }
  CHECK(n > 0);
}

}  // namespace
}  // namespace sparsify::engine
