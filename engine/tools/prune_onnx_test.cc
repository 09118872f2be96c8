// Pruning: exact counts, deterministic ties, block4 shapes (Conv along I, MatMul along K, Gemm
// transB along the input dim), depthwise convs untouched, and the pruned model still runs.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "engine/engine.h"
#include "engine/tools/model_io.h"
#include "engine/tools/prune_onnx.h"
#include "engine/tools/tools_test_models.h"

namespace sparsify::tools {
namespace {

using engine::Tensor;

std::vector<float> random_weights(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> w(n);
  for (float& v : w) v = d(rng);
  return w;
}

std::int64_t zeros(const std::vector<float>& w) {
  std::int64_t z = 0;
  for (float v : w) z += v == 0.0f ? 1 : 0;
  return z;
}

Tensor weight(const onnx::ModelProto& m, const std::string& name) {
  const onnx::TensorProto* p = find_initializer(m.graph(), name);
  REQUIRE(p != nullptr);
  StatusOr<Tensor> t = initializer_tensor(*p);
  REQUIRE(t.ok());
  return *t;
}

}  // namespace

TEST_CASE("unstructured pruning zeroes exactly round(S * n) smallest magnitudes", "[prune]") {
  for (double s : {0.0, 0.1, 0.37, 0.5, 0.9, 0.95, 1.0}) {
    std::vector<float> w = random_weights(1001, 3);
    const std::vector<float> orig = w;
    prune_weights(w.data(), WeightLayout{1, 1001, 1}, s, MaskType::kUnstructured);
    const auto want = static_cast<std::int64_t>(std::llround(s * 1001));
    CHECK(zeros(w) == want);
    // Every kept weight is at least as large as every pruned one.
    float max_pruned = 0, min_kept = INFINITY;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (w[i] == 0) max_pruned = std::max(max_pruned, std::abs(orig[i]));
      else min_kept = std::min(min_kept, std::abs(orig[i]));
    }
    if (want > 0 && want < 1001) CHECK(max_pruned <= min_kept);
  }
}

TEST_CASE("ties are broken by index, lower first", "[prune]") {
  std::vector<float> w(10, 1.0f);
  w[3] = -1.0f;
  prune_weights(w.data(), WeightLayout{1, 10, 1}, 0.3, MaskType::kUnstructured);
  CHECK(w == std::vector<float>{0, 0, 0, -1, 1, 1, 1, 1, 1, 1});
}

TEST_CASE("block4 zeroes whole blocks of 4 along the input dim", "[prune]") {
  // [outer=3, in=10, inner=5]: blocks of in 0-3, 4-7 and a short 8-9.
  const WeightLayout l{3, 10, 5};
  std::vector<float> w = random_weights(static_cast<std::size_t>(l.size()), 5);
  prune_weights(w.data(), l, 0.5, MaskType::kBlock4);
  std::int64_t zero_blocks = 0;
  for (std::int64_t o = 0; o < 3; ++o) {
    for (std::int64_t b = 0; b < 3; ++b) {
      for (std::int64_t i = 0; i < 5; ++i) {
        int z = 0, len = b == 2 ? 2 : 4;
        for (int t = 0; t < len; ++t) z += w[static_cast<std::size_t>((o * 10 + b * 4 + t) * 5 + i)] == 0.0f ? 1 : 0;
        CHECK((z == 0 || z == len));
        zero_blocks += z == len ? 1 : 0;
      }
    }
  }
  CHECK(zero_blocks == std::llround(0.5 * 45));
}

TEST_CASE("prune_model: Conv, Gemm exact counts; depthwise untouched; engine runs it", "[prune]") {
  onnx::ModelProto m = testing::conv_model();
  StatusOr<std::vector<LayerReport>> r = prune_model(m, {0.9, MaskType::kUnstructured});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].node == "conv1");
  CHECK((*r)[0].pruned);
  CHECK((*r)[1].node == "dw");
  CHECK_FALSE((*r)[1].pruned);
  CHECK((*r)[1].note.find("depthwise") != std::string::npos);
  const Tensor c1 = weight(m, "conv1.weight");
  std::int64_t z = 0;
  for (std::int64_t i = 0; i < c1.numel(); ++i) z += c1.data<float>()[i] == 0 ? 1 : 0;
  CHECK(z == std::llround(0.9 * 16 * 8 * 9));
  const Tensor dw = weight(m, "dw.weight");
  for (std::int64_t i = 0; i < dw.numel(); ++i) REQUIRE(dw.data<float>()[i] != 0);
  CHECK((*r)[2].sparsity == Approx(std::llround(0.9 * 160) / 160.0));

  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  StatusOr<engine::Engine> e = engine::Engine::load_bytes(bytes);
  REQUIRE(e.ok());
  StatusOr<std::vector<Tensor>> descs = e->input_descs();
  REQUIRE(descs.ok());
  std::vector<Tensor> in{Tensor(engine::DType::kFloat32, (*descs)[0].dims())};
  CHECK(e->run(in).ok());
  CHECK(check_model(m).ok());
}

TEST_CASE("prune_model block4: Conv along I at fixed (o,h,w), Gemm transB along the input dim, MatMul along K", "[prune]") {
  onnx::ModelProto m = testing::conv_model();
  REQUIRE(prune_model(m, {0.75, MaskType::kBlock4}).ok());
  const Tensor c1 = weight(m, "conv1.weight");  // [16, 8, 3, 3]: blocks i 0-3, 4-7
  for (int o = 0; o < 16; ++o) {
    for (int b = 0; b < 2; ++b) {
      for (int hw = 0; hw < 9; ++hw) {
        int zc = 0;
        for (int t = 0; t < 4; ++t) zc += c1.data<float>()[(o * 8 + b * 4 + t) * 9 + hw] == 0 ? 1 : 0;
        REQUIRE((zc == 0 || zc == 4));
      }
    }
  }
  const Tensor fc = weight(m, "fc.weight");  // [10, 16] with transB: blocks along the 16
  for (int n = 0; n < 10; ++n) {
    for (int b = 0; b < 4; ++b) {
      int zc = 0;
      for (int t = 0; t < 4; ++t) zc += fc.data<float>()[n * 16 + b * 4 + t] == 0 ? 1 : 0;
      REQUIRE((zc == 0 || zc == 4));
    }
  }
  onnx::ModelProto mlp = testing::mlp_model();
  REQUIRE(prune_model(mlp, {0.5, MaskType::kBlock4}).ok());
  const Tensor w1 = weight(mlp, "mm1.weight");  // [32, 64]: blocks along K = 32 at fixed n
  std::int64_t zero_blocks = 0;
  for (int b = 0; b < 8; ++b) {
    for (int n = 0; n < 64; ++n) {
      int zc = 0;
      for (int t = 0; t < 4; ++t) zc += w1.data<float>()[(b * 4 + t) * 64 + n] == 0 ? 1 : 0;
      REQUIRE((zc == 0 || zc == 4));
      zero_blocks += zc == 4 ? 1 : 0;
    }
  }
  CHECK(zero_blocks == 256);
}

TEST_CASE("prune_model errors and mask names", "[prune]") {
  onnx::ModelProto m = testing::conv_model();
  CHECK(prune_model(m, {1.5, MaskType::kUnstructured}).status().code() == StatusCode::kInvalidArgument);
  CHECK(parse_mask_type("block4").ok());
  const auto bad = parse_mask_type("block8");
  CHECK(bad.status().code() == StatusCode::kUnsupported);
  CHECK(bad.status().message().find("unstructured|block4") != std::string::npos);
}

}  // namespace sparsify::tools
