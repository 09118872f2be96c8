// Quantization: uint8 parameters, calibration ranges, and QDQ output that passes the ONNX checker,
// folds to QLinearConv/QLinearMatMul in the engine and matches the float model within tolerance.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "engine/engine.h"
#include "engine/runtime/plan.h"
#include "engine/tools/calibrate.h"
#include "engine/tools/model_io.h"
#include "engine/tools/prune_onnx.h"
#include "engine/tools/quantize_onnx.h"
#include "engine/tools/tools_test_models.h"

namespace sparsify::tools {
namespace {

using engine::Engine;
using engine::Tensor;

Engine load(const onnx::ModelProto& m) {
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  StatusOr<Engine> e = Engine::load_bytes(bytes);
  INFO(e.status().to_string());
  REQUIRE(e.ok());
  return std::move(e).value();
}

// Prunes (optionally), quantizes with `calib` random samples, returns the quantized model.
onnx::ModelProto optimize(onnx::ModelProto m, double sparsity) {
  if (sparsity > 0) REQUIRE(prune_model(m, {sparsity, MaskType::kUnstructured}).ok());
  REQUIRE(gemm_to_matmul(m).ok());
  StatusOr<std::vector<std::string>> tensors = calibration_tensors(m);
  REQUIRE(tensors.ok());
  Engine f = load(m);
  StatusOr<std::vector<Sample>> samples = random_samples(f, 8, 0, 1);
  REQUIRE(samples.ok());
  StatusOr<std::map<std::string, Range>> ranges = collect_ranges(m, *tensors, *samples, 1);
  INFO(ranges.status().to_string());
  REQUIRE(ranges.ok());
  StatusOr<std::vector<QuantReport>> q = quantize_model(m, *ranges);
  INFO(q.status().to_string());
  REQUIRE(q.ok());
  return m;
}

// max |a - b| / max |a| over the first output on one random sample (not a calibration one).
double relative_error(const onnx::ModelProto& ref, const onnx::ModelProto& got, std::map<std::string, int>* ops) {
  Engine a = load(ref), b = load(got);
  StatusOr<std::vector<Sample>> s = random_samples(a, 1, 0, 99);
  REQUIRE(s.ok());
  StatusOr<std::vector<Tensor>> ya = a.run((*s)[0]);
  StatusOr<engine::CompiledModel*> cm = b.compile((*s)[0]);
  REQUIRE(cm.ok());
  REQUIRE((*cm)->plan() != nullptr);
  for (const auto& step : (*cm)->plan()->steps()) ++(*ops)[(*cm)->plan()->graph().nodes[step.node].op_type];
  StatusOr<std::vector<Tensor>> yb = (*cm)->run((*s)[0]);
  REQUIRE(ya.ok());
  REQUIRE(yb.ok());
  double diff = 0, ref_max = 0;
  for (std::int64_t i = 0; i < (*ya)[0].numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs((*ya)[0].data<float>()[i] - (*yb)[0].data<float>()[i])));
    ref_max = std::max(ref_max, static_cast<double>(std::abs((*ya)[0].data<float>()[i])));
  }
  return diff / ref_max;
}

}  // namespace

TEST_CASE("uint8 parameters keep zero exact", "[quantize]") {
  QuantParams p = uint8_params({-1.0f, 3.0f});
  CHECK(p.scale == Approx(4.0 / 255));
  CHECK(p.zero_point == 64);
  p = uint8_params({0.5f, 2.0f});  // widened to [0, 2]
  CHECK(p.zero_point == 0);
  CHECK(p.scale == Approx(2.0 / 255));
  p = uint8_params({-2.0f, -1.0f});  // widened to [-2, 0]
  CHECK(p.zero_point == 255);
  p = uint8_params({0.0f, 0.0f});
  CHECK(p.scale == 1.0f);
  CHECK(p.zero_point == 0);
}

TEST_CASE("calibration ranges: graph inputs from the samples, intermediates from the float model", "[quantize]") {
  onnx::ModelProto m = testing::mlp_model();
  StatusOr<std::vector<std::string>> tensors = calibration_tensors(m);
  REQUIRE(tensors.ok());
  // mm1: x -> h0 (Add follows, not folded); mm2: h -> y.
  CHECK(*tensors == std::vector<std::string>{"x", "h0", "h", "y"});
  Engine e = load(m);
  StatusOr<std::vector<Sample>> samples = random_samples(e, 3, 0, 5);
  REQUIRE(samples.ok());
  StatusOr<std::map<std::string, Range>> r = collect_ranges(m, *tensors, *samples, 1);
  REQUIRE(r.ok());
  float lo = INFINITY, hi = -INFINITY, hmax = 0, h0lo = INFINITY;
  const Tensor w1 = *initializer_tensor(*find_initializer(m.graph(), "mm1.weight"));
  const Tensor b1 = *initializer_tensor(*find_initializer(m.graph(), "mm1.bias"));
  for (const Sample& s : *samples) {
    const float* x = s[0].data<float>();
    for (std::int64_t i = 0; i < s[0].numel(); ++i) {
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
    for (int row = 0; row < 8; ++row) {
      for (int n = 0; n < 64; ++n) {
        double acc = 0;
        for (int k = 0; k < 32; ++k) acc += static_cast<double>(x[row * 32 + k]) * w1.data<float>()[k * 64 + n];
        h0lo = std::min(h0lo, static_cast<float>(acc));
        hmax = std::max(hmax, static_cast<float>(std::max(0.0, acc + b1.data<float>()[n])));
      }
    }
  }
  CHECK(r->at("x").min == lo);
  CHECK(r->at("x").max == hi);
  CHECK(r->at("h").min == 0.0f);
  CHECK(r->at("h").max == Approx(hmax).epsilon(1e-4));
  CHECK(r->at("h0").min == Approx(h0lo).epsilon(1e-4));
}

TEST_CASE("QDQ conv model: checker passes, engine folds every op, output within int8 tolerance", "[quantize]") {
  const onnx::ModelProto f = testing::conv_model();
  const onnx::ModelProto q = optimize(f, 0);
  CHECK(check_model(q).ok());
  std::map<std::string, int> ops;
  const double err = relative_error(f, q, &ops);
  CHECK(ops["QLinearConv"] == 2);
  // The model's output DequantizeLinear fuses into the MatMul (fuse_qmatmul_dequant).
  CHECK(ops["QLinearMatMul"] + ops["QLinearMatMulDequantize"] == 1);
  CHECK(ops["Relu"] == 0);  // folded into the output quantization
  CHECK(ops["Conv"] == 0);
  CHECK(err < 0.05);
}

TEST_CASE("QDQ MLP, pruned 80%: zeros stay 0 in int8, output within int8 tolerance", "[quantize]") {
  onnx::ModelProto pruned = testing::mlp_model();
  REQUIRE(prune_model(pruned, {0.8, MaskType::kUnstructured}).ok());
  const onnx::ModelProto q = optimize(pruned, 0);
  CHECK(check_model(q).ok());
  const Tensor wf = *initializer_tensor(*find_initializer(pruned.graph(), "mm1.weight"));
  const onnx::TensorProto* qp = find_initializer(q.graph(), "mm1.weight_quantized");
  REQUIRE(qp != nullptr);
  const Tensor wq = *initializer_tensor(*qp);
  REQUIRE(wq.dtype() == engine::DType::kInt8);
  for (std::int64_t i = 0; i < wf.numel(); ++i) {
    if (wf.data<float>()[i] == 0.0f) REQUIRE(wq.data<std::int8_t>()[i] == 0);
  }
  std::map<std::string, int> ops;
  const double err = relative_error(pruned, q, &ops);
  CHECK(ops["QLinearMatMul"] + ops["QLinearMatMulDequantize"] == 2);
  CHECK(err < 0.05);
}

TEST_CASE("quantize_model rejects an already quantized model and old opsets", "[quantize]") {
  onnx::ModelProto q = optimize(testing::mlp_model(), 0);
  StatusOr<std::vector<std::string>> again = calibration_tensors(q);
  CHECK(again.status().code() == StatusCode::kInvalidArgument);
  onnx::ModelProto old = testing::mlp_model();
  old.mutable_opset_import(0)->set_version(11);
  CHECK(quantize_model(old, {}).status().code() == StatusCode::kUnsupported);
}

}  // namespace sparsify::tools
