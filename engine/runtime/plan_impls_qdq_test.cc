// q8_quantize__runtime / q8_dequantize__runtime against the reference QuantizeLinear /
// DequantizeLinear: bit-identical outputs for per-tensor and per-axis parameters, uint8 / int8
// (and int32 for dequantize), sizes that are not multiples of 16, ties, saturation, NaN and
// infinities, every ISA variant of the loops the CPU runs, with 1 and 2 threads (the large case crosses the parallel threshold).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "engine/ops/op_kernel.h"
#include "engine/runtime/plan_impl.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

struct Case {
  Dims dims;
  int axis;  // -100: per-tensor
};

Tensor params(DType dtype, std::int64_t n, bool per_axis, std::mt19937& rng, bool scale) {
  Tensor t(dtype, per_axis ? Dims{n} : Dims{});
  std::uniform_real_distribution<float> s(0.002f, 0.2f);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (scale) {
      // Every third scale a power of two, so x / scale lands exactly on .5 ties.
      t.data<float>()[i] = i % 3 == 0 ? std::ldexp(1.0f, -static_cast<int>(rng() % 7)) : s(rng);
    } else if (dtype == DType::kUInt8) {
      t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng() % 256);
    } else if (dtype == DType::kInt8) {
      t.data<std::int8_t>()[i] = static_cast<std::int8_t>(static_cast<int>(rng() % 256) - 128);
    } else {
      t.data<std::int32_t>()[i] = static_cast<std::int32_t>(rng() % 2001) - 1000;
    }
  }
  return t;
}

// Runs the reference op and the plan implementation on the same node and inputs; returns both outputs.
std::pair<Tensor, Tensor> run_both(const std::string& op, const Case& c, const std::vector<const Tensor*>& in, int threads, Isa isa,
                                   bool live = false) {
  Node node;
  node.name = "n";
  node.op_type = op;
  node.inputs = {0, 1, 2};
  node.outputs = {3};
  if (c.axis != -100) {
    Attribute a;
    a.name = "axis";
    a.kind = Attribute::Kind::kInt;
    a.i = c.axis;
    node.attributes.push_back(a);
  }
  const OpInfo* info = find_op(op);
  REQUIRE(info != nullptr);
  std::vector<Tensor> outs(1);
  OpContext ctx(node, 19, in, &outs);
  REQUIRE(info->prepare(ctx).ok());
  Tensor ref(outs[0].dtype(), outs[0].dims());
  outs[0] = ref;
  REQUIRE(info->run(ctx).ok());
  ref = outs[0];

  Tensor got(ref.dtype(), ref.dims());
  StepBinding b;
  b.node = &node;
  b.opset = 19;
  b.inputs = in;
  b.input_is_constant = {false, !live, !live};
  b.outputs = {&got};
  b.threads = threads;
  b.isa = isa;
  ThreadPool pool(threads);
  b.pool = &pool;
  auto k = op == "QuantizeLinear" ? make_q8_quantize(b) : make_q8_dequantize(b);
  REQUIRE(k.ok());
  INFO((*k)->name() << ": " << (*k)->decision());
  CHECK((*k)->name().find(isa_name(isa)) != std::string::npos);
  CHECK(((*k)->decision().find("read each run") != std::string::npos) == live);
  REQUIRE((*k)->run(nullptr, &pool).ok());
  REQUIRE((*k)->run(nullptr, &pool).ok());  // twice: no state carried between runs
  return {std::move(ref), std::move(got)};
}

void check_identical(const Tensor& ref, const Tensor& got) {
  REQUIRE(ref.dtype() == got.dtype());
  REQUIRE(ref.nbytes() == got.nbytes());
  std::int64_t bad = -1;
  for (std::int64_t i = 0; i < ref.numel() && bad < 0; ++i) {
    if (ref.element_as_double(i) != got.element_as_double(i) &&
        !(std::isnan(ref.element_as_double(i)) && std::isnan(got.element_as_double(i)))) {
      bad = i;
    }
  }
  INFO("first mismatch at " << bad << ": reference " << (bad >= 0 ? ref.element_as_double(bad) : 0.0) << ", got "
                            << (bad >= 0 ? got.element_as_double(bad) : 0.0));
  CHECK(bad < 0);
}

const Case kCases[] = {
    {{2, 5, 7, 3}, -100}, {{2, 5, 7, 3}, 1}, {{3, 17}, -1}, {{37}, 0},
    {{2, 3, 97, 131}, -100}, {{2, 3, 97, 131}, 1}, {{1, 9, 61, 67}, 1},
};

TEST_CASE("q8_quantize__runtime equals the reference QuantizeLinear") {
  const int threads = GENERATE(1, 2);
  const Isa isa = GENERATE(Isa::kScalar, Isa::kAvx2, Isa::kAvx512);
  auto cpu = effective_isa();
  REQUIRE(cpu.ok());
  if (isa > *cpu) return;  // this CPU (or SPARSIFY_ISA) cannot run that variant
  const DType zdt = GENERATE(DType::kUInt8, DType::kInt8);
  const bool live = GENERATE(false, true);  // scale / zero point as graph inputs, read in run()
  std::mt19937 rng(7);
  for (const Case& c : kCases) {
    const bool per_axis = c.axis != -100;
    const std::int64_t ax = c.axis < 0 ? c.axis + static_cast<std::int64_t>(c.dims.size()) : c.axis;
    const std::int64_t n = per_axis ? c.dims[static_cast<std::size_t>(ax)] : 1;
    Tensor scale = params(DType::kFloat32, n, per_axis, rng, true);
    Tensor zp = params(zdt, n, per_axis, rng, false);
    Tensor x(DType::kFloat32, c.dims);
    std::uniform_real_distribution<float> u(-30.0f, 30.0f);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      float v = u(rng);
      if (i % 5 == 0) v = std::round(v * 64.0f) / 64.0f + 1.0f / 128.0f;  // ties for power-of-two scales
      if (i % 11 == 0) v *= 1e-3f;
      x.data<float>()[i] = v;
    }
    x.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    if (x.numel() > 3) {
      x.data<float>()[1] = std::numeric_limits<float>::infinity();
      x.data<float>()[2] = -std::numeric_limits<float>::infinity();
      x.data<float>()[3] = 3e38f;
    }
    INFO("dims " << dims_to_string(c.dims) << " axis " << c.axis << " threads " << threads << " isa " << isa_name(isa) << " zp " << dtype_name(zdt));
    auto [ref, got] = run_both("QuantizeLinear", c, {&x, &scale, &zp}, threads, isa, live);
    check_identical(ref, got);
  }
}

TEST_CASE("q8_dequantize__runtime equals the reference DequantizeLinear") {
  const int threads = GENERATE(1, 2);
  const Isa isa = GENERATE(Isa::kScalar, Isa::kAvx2, Isa::kAvx512);
  auto cpu = effective_isa();
  REQUIRE(cpu.ok());
  if (isa > *cpu) return;  // this CPU (or SPARSIFY_ISA) cannot run that variant
  const DType xdt = GENERATE(DType::kUInt8, DType::kInt8, DType::kInt32);
  std::mt19937 rng(11);
  for (const Case& c : kCases) {
    const bool per_axis = c.axis != -100;
    const std::int64_t ax = c.axis < 0 ? c.axis + static_cast<std::int64_t>(c.dims.size()) : c.axis;
    const std::int64_t n = per_axis ? c.dims[static_cast<std::size_t>(ax)] : 1;
    Tensor scale = params(DType::kFloat32, n, per_axis, rng, true);
    Tensor zp = params(xdt, n, per_axis, rng, false);
    Tensor x(xdt, c.dims);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      if (xdt == DType::kUInt8) x.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng());
      else if (xdt == DType::kInt8) x.data<std::int8_t>()[i] = static_cast<std::int8_t>(rng());
      else x.data<std::int32_t>()[i] = static_cast<std::int32_t>(rng());  // full range: float rounding
    }
    INFO("dims " << dims_to_string(c.dims) << " axis " << c.axis << " threads " << threads << " isa " << isa_name(isa) << " x " << dtype_name(xdt));
    auto [ref, got] = run_both("DequantizeLinear", c, {&x, &scale, &zp}, threads, isa);
    check_identical(ref, got);
  }
}

TEST_CASE("q8 QDQ rows decline what they do not cover, with a reason") {
  std::mt19937 rng(3);
  Tensor x(DType::kFloat32, {4, 8});
  Tensor scale = params(DType::kFloat32, 1, false, rng, true);
  Tensor zp(DType::kInt32, {});
  Tensor y(DType::kInt32, {4, 8});
  Node node;
  node.op_type = "QuantizeLinear";
  node.inputs = {0, 1, 2};
  node.outputs = {3};
  StepBinding b;
  b.node = &node;
  b.inputs = {&x, &scale, &zp};
  b.input_is_constant = {false, true, true};
  b.outputs = {&y};
  auto k = make_q8_quantize(b);
  REQUIRE_FALSE(k.ok());
  CHECK(k.status().message().find("int32") != std::string::npos);
  Tensor x16(DType::kFloat16, {4, 8});
  Tensor y8(DType::kUInt8, {4, 8});
  b.inputs = {&x16, &scale, nullptr};
  b.outputs = {&y8};
  auto k2 = make_q8_quantize(b);
  REQUIRE_FALSE(k2.ok());
  CHECK(k2.status().message().find("float16") != std::string::npos);
}

}  // namespace
}  // namespace sparsify::engine
