// Whole-model checks of the sparse kernels in the plan: a pruned fp32 conv net (3x3, 1x1, strided,
// Gemm and MatMul layers zeroed 0-95 % in the test) and an int8 QLinearConv / QLinearMatMul net
// with block-4 pruning, run with Options::sparse = auto / on / off and 1-2 threads against the
// reference executor (fp32: 1e-4; int8: bit-exact between sparse and dense plans, within 1 of the
// double-precision reference). The dump must show every decision with its numbers.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "engine/engine.h"
#include "engine/passes/test_models.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/plan.h"

namespace sparsify::engine {
namespace {

using testing::ModelBuilder;

std::vector<float> pruned(std::size_t n, double zeros, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-0.5f, 0.5f), u(0, 1);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng) < zeros ? 0.0f : d(rng);
  return v;
}

Tensor random_tensor(const Dims& dims, unsigned seed) {
  Tensor t(DType::kFloat32, dims);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.dims() == b.dims());
  double d = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) d = std::max(d, std::abs(a.element_as_double(i) - b.element_as_double(i)));
  return d;
}

std::vector<Tensor> reference(const std::string& bytes, const std::vector<Tensor>& inputs) {
  auto e = Engine::load_bytes(bytes);
  REQUIRE(e.ok());
  auto ex = ReferenceExecutor::compile(std::make_shared<const Graph>(e->graph()), inputs);
  REQUIRE(ex.ok());
  auto out = ex->run(inputs);
  REQUIRE(out.ok());
  return *out;
}

// x[1,16,16,16] -> Conv3x3 (32, 90 %) -> Relu -> Conv1x1 (64, 95 %) -> Relu -> Conv3x3 s2 (32, 0 %)
// -> Conv1x1 (48, 99 %) -> GAP -> Flatten -> Gemm transB (40, 90 %) -> MatMul (40x24, 80 %).
std::string pruned_cnn() {
  ModelBuilder b;
  b.input("x", {1, 16, 16, 16});
  b.init("w1", {32, 16, 3, 3}, pruned(32 * 16 * 9, 0.9, 1));
  b.init("b1", {32}, pruned(32, 0, 2));
  b.init("w2", {64, 32, 1, 1}, pruned(64 * 32, 0.95, 3));
  b.init("w3", {32, 64, 3, 3}, pruned(32 * 64 * 9, 0.0, 4));
  b.init("w4", {48, 32, 1, 1}, pruned(48 * 32, 0.99, 5));
  b.init("fc_w", {40, 48}, pruned(40 * 48, 0.9, 6));
  b.init("fc_b", {40}, pruned(40, 0, 7));
  b.init("mm_w", {40, 24}, pruned(40 * 24, 0.8, 8));
  ModelBuilder::attr_ints(b.node("Conv", "conv1", {"x", "w1", "b1"}, {"c1"}), "pads", {1, 1, 1, 1});
  b.node("Relu", "relu1", {"c1"}, {"r1"});
  b.node("Conv", "conv2", {"r1", "w2"}, {"c2"});
  b.node("Relu", "relu2", {"c2"}, {"r2"});
  auto* c3 = b.node("Conv", "conv3", {"r2", "w3"}, {"c3"});
  ModelBuilder::attr_ints(c3, "pads", {1, 1, 1, 1});
  ModelBuilder::attr_ints(c3, "strides", {2, 2});
  b.node("Conv", "conv4", {"c3", "w4"}, {"c4"});
  b.node("GlobalAveragePool", "gap", {"c4"}, {"g"});
  b.node("Flatten", "flatten", {"g"}, {"f"});
  ModelBuilder::attr_i(b.node("Gemm", "fc", {"f", "fc_w", "fc_b"}, {"fc"}), "transB", 1);
  b.node("MatMul", "mm", {"fc", "mm_w"}, {"y"});
  b.output("y");
  return b.bytes();
}

TEST_CASE("a pruned fp32 conv net: sparse auto / on / off match the reference; the dump shows every choice") {
  const std::string bytes = pruned_cnn();
  const std::vector<Tensor> in = {random_tensor({1, 16, 16, 16}, 3)};
  const Tensor want = reference(bytes, in)[0];
  for (SparseMode mode : {SparseMode::kAuto, SparseMode::kOn, SparseMode::kOff})
    for (int threads : {1, 2}) {
      INFO("sparse " << sparse_mode_name(mode) << " threads " << threads);
      Options o;
      o.threads = threads;
      o.sparse = mode;
      auto e = Engine::load_bytes(bytes, ".", o);
      REQUIRE(e.ok());
      auto got = e->run(in);
      REQUIRE(got.ok());
      CHECK(max_diff((*got)[0], want) < 1e-4);
      auto cm = e->compile(in);
      REQUIRE(cm.ok());
      const std::string dump = (*cm)->dump_plan();
      INFO(dump);
      if (mode == SparseMode::kOff) {
        CHECK(dump.find("f32_spmm_minmax") == std::string::npos);
        CHECK(dump.find("sparse off") != std::string::npos);
      } else {
        CHECK(dump.find("f32_sparse_conv2d__kernels (f32_im2col") != std::string::npos);
        CHECK(dump.find("f32_spmm_const_right__kernels (f32_spmm") != std::string::npos);
        CHECK(dump.find("decision: ") != std::string::npos);
        CHECK(dump.find("% zeros") != std::string::npos);
      }
      if (mode == SparseMode::kAuto && threads == 2 && std::getenv("SPARSIFY_PRINT_DUMP") != nullptr) std::puts(dump.c_str());
      if (mode == SparseMode::kAuto) {
        // conv3 has no zeros: sparse is rejected with its numbers, the dense row runs it.
        CHECK(dump.find("rejected f32_sparse_conv2d__kernels: ") != std::string::npos);
        CHECK(dump.find("0.0 % zeros") != std::string::npos);
      }
    }
}

// QLinearConv 3x3 (x u8 [1,16,10,10] -> 32 ch, block-4 over input channels at each tap, 90 %, per-
// channel weight scales) -> QLinearConv 1x1 (-> 24 ch, 95 %) -> QLinearMatMul on [24*?]: the
// conv output reshaped is not needed; the MatMul takes its own u8 input.
std::string pruned_qnet() {
  ModelBuilder b;
  b.input("x", {1, 16, 10, 10}, onnx::TensorProto::UINT8);
  b.input("a", {7, 64}, onnx::TensorProto::UINT8);
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> d(-90, 90);
  auto block4 = [&](std::size_t out, std::size_t in, std::size_t taps, double zeros) {
    std::vector<std::int64_t> w(out * in * taps, 0);
    for (std::size_t o = 0; o < out; ++o)
      for (std::size_t t = 0; t < taps; ++t)
        for (std::size_t i = 0; i < in; i += 4) {
          if (u(rng) < zeros) continue;
          for (std::size_t j = i; j < std::min(in, i + 4); ++j) w[(o * in + j) * taps + t] = d(rng);
        }
    return w;
  };
  b.init("xs", {}, {0.05f});
  b.init_int("xz", {}, {7}, onnx::TensorProto::UINT8);
  b.init_int("w1", {32, 16, 3, 3}, block4(32, 16, 9, 0.9), onnx::TensorProto::INT8);
  std::vector<float> ws1(32);
  for (std::size_t i = 0; i < ws1.size(); ++i) ws1[i] = 0.002f + 0.0005f * float(i % 5);
  b.init("ws1", {32}, ws1);
  b.init_int("wz1", {32}, std::vector<std::int64_t>(32, 0), onnx::TensorProto::INT8);
  b.init("ys1", {}, {0.08f});
  b.init_int("yz1", {}, {5}, onnx::TensorProto::UINT8);
  std::vector<std::int64_t> bias(32);
  for (auto& v : bias) v = d(rng) * 20;
  b.init_int("b1", {32}, bias, onnx::TensorProto::INT32);
  b.init_int("w2", {24, 32, 1, 1}, block4(24, 32, 1, 0.95), onnx::TensorProto::INT8);
  b.init("ws2", {}, {0.004f});
  b.init_int("wz2", {}, {0}, onnx::TensorProto::INT8);
  b.init("ys2", {}, {0.1f});
  b.init_int("yz2", {}, {128}, onnx::TensorProto::UINT8);
  // MatMul weight [K=64, N=40], blocks of 4 along K per column: build [N][K] then transpose.
  const auto wt = block4(40, 64, 1, 0.9);
  std::vector<std::int64_t> w3(64 * 40);
  for (std::size_t n = 0; n < 40; ++n)
    for (std::size_t k = 0; k < 64; ++k) w3[k * 40 + n] = wt[n * 64 + k];
  b.init_int("w3", {64, 40}, w3, onnx::TensorProto::INT8);
  b.init("as", {}, {0.03f});
  b.init_int("az", {}, {11}, onnx::TensorProto::UINT8);
  b.init("ws3", {}, {0.01f});
  b.init_int("wz3", {}, {0}, onnx::TensorProto::INT8);
  b.init("ys3", {}, {0.2f});
  b.init_int("yz3", {}, {100}, onnx::TensorProto::UINT8);
  ModelBuilder::attr_ints(b.node("QLinearConv", "qconv1", {"x", "xs", "xz", "w1", "ws1", "wz1", "ys1", "yz1", "b1"}, {"q1"}),
                          "pads", {1, 1, 1, 1});
  b.node("QLinearConv", "qconv2", {"q1", "ys1", "yz1", "w2", "ws2", "wz2", "ys2", "yz2"}, {"y"});
  b.node("QLinearMatMul", "qmm", {"a", "as", "az", "w3", "ws3", "wz3", "ys3", "yz3"}, {"z"});
  b.output("y");
  b.output("z");
  return b.bytes();
}

Tensor random_u8(const Dims& dims, unsigned seed) {
  Tensor t(DType::kUInt8, dims);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, 255);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(d(rng));
  return t;
}

TEST_CASE("a block-4 pruned int8 net: sparse plans equal dense plans bit for bit and the reference within 1") {
  const std::string bytes = pruned_qnet();
  const std::vector<Tensor> in = {random_u8({1, 16, 10, 10}, 1), random_u8({7, 64}, 2)};
  const std::vector<Tensor> want = reference(bytes, in);
  for (int threads : {1, 2}) {
    std::vector<std::vector<Tensor>> outs;
    for (SparseMode mode : {SparseMode::kOff, SparseMode::kOn, SparseMode::kAuto}) {
      INFO("sparse " << sparse_mode_name(mode) << " threads " << threads);
      Options o;
      o.threads = threads;
      o.sparse = mode;
      auto e = Engine::load_bytes(bytes, ".", o);
      REQUIRE(e.ok());
      auto got = e->run(in);
      REQUIRE(got.ok());
      auto cm = e->compile(in);
      REQUIRE(cm.ok());
      const std::string dump = (*cm)->dump_plan();
      INFO(dump);
      CHECK(dump.find("-> reference") == std::string::npos);  // every int8 step runs on kernels
      CHECK(dump.find("qu8_conv2d__kernels") != std::string::npos);
      CHECK(dump.find("qu8_matmul_const_right__kernels") != std::string::npos);
      if (mode == SparseMode::kOn) {
        CHECK(dump.find("qu8s8_spmm") != std::string::npos);
        CHECK(dump.find("K tap-major") != std::string::npos);
      }
      for (std::size_t i = 0; i < 2; ++i) CHECK(max_diff((*got)[i], want[i]) <= 1.0);
      outs.push_back(std::move(*got));
    }
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(max_diff(outs[0][i], outs[1][i]) == 0.0);
      CHECK(max_diff(outs[0][i], outs[2][i]) == 0.0);
    }
  }
}

TEST_CASE("sparse modes parse and print") {
  CHECK(parse_sparse_mode("AUTO", "x").value() == SparseMode::kAuto);
  CHECK(parse_sparse_mode("off", "x").value() == SparseMode::kOff);
  CHECK(parse_sparse_mode("on", "x").value() == SparseMode::kOn);
  CHECK(parse_sparse_mode("yes", "SPARSIFY_SPARSE").status().message().find("auto, off, on") != std::string::npos);
  CHECK(std::string(sparse_mode_name(SparseMode::kOff)) == "off");
}

}  // namespace
}  // namespace sparsify::engine
