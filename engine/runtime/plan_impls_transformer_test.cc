// The transformer steps against their reference ops: f32_batched_matmul__kernels (MatMul with two
// run-time operands, batch broadcasting, K across blocks), x_transpose__runtime (every perm class,
// 1/4/8-byte elements), f32_softmax__vmath, f32_layer_norm__vmath, f32_erf__vmath; every ISA this
// CPU allows, 1 and 2 threads, odd shapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "engine/ops/op_kernel.h"
#include "engine/runtime/plan_impl.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

using Factory = StatusOr<std::unique_ptr<StepKernel>> (*)(const StepBinding&);

Attribute int_attr(const char* name, std::int64_t v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return a;
}
Attribute float_attr(const char* name, float v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::kFloat;
  a.f = v;
  return a;
}
Attribute ints_attr(const char* name, std::vector<std::int64_t> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}

Tensor random_tensor(DType dt, const Dims& dims, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(dt, dims);
  std::uniform_real_distribution<float> d(lo, hi);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (dt == DType::kFloat32) t.data<float>()[i] = d(rng);
    else if (dt == DType::kUInt8) t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng());
    else t.data<std::int64_t>()[i] = static_cast<std::int64_t>(rng());
  }
  return t;
}

struct Options {
  Isa isa;
  int threads;
};

// Runs the reference op and the step (twice) on the same node; returns the largest difference
// relative to (abs_tol + rel_tol * |reference|), <= 1 passes. `expect_name`: a substring the step
// name must hold ("" to skip).
double run_both(const std::string& op, std::int64_t opset, std::vector<Attribute> attrs, const std::vector<const Tensor*>& in,
                std::vector<bool> constant, Factory make, const Options& o, double abs_tol, double rel_tol) {
  Node node;
  node.name = "n";
  node.op_type = op;
  for (std::size_t i = 0; i < in.size(); ++i) node.inputs.push_back(static_cast<ValueId>(i));
  node.outputs = {static_cast<ValueId>(in.size())};
  node.attributes = std::move(attrs);
  const OpInfo* info = find_op(op);
  REQUIRE(info != nullptr);
  std::vector<Tensor> outs(1);
  OpContext ctx(node, opset, in, &outs);
  REQUIRE(info->prepare(ctx).ok());
  outs[0] = Tensor(outs[0].dtype(), outs[0].dims());
  REQUIRE(info->run(ctx).ok());
  const Tensor ref = outs[0];

  Tensor got(ref.dtype(), ref.dims());
  StepBinding b;
  b.node = &node;
  b.opset = opset;
  b.inputs = in;
  b.input_is_constant = std::move(constant);
  b.outputs = {&got};
  b.threads = o.threads;
  b.isa = o.isa;
  ThreadPool pool(o.threads);
  b.pool = &pool;
  auto k = make(b);
  INFO(op << (k.ok() ? "" : " rejected: " + k.status().to_string()));
  REQUIRE(k.ok());
  INFO((*k)->name() << ": " << (*k)->decision());
  std::vector<std::uint64_t> scratch(((*k)->scratch_bytes() + 63) / 8 + 8);
  auto* s = reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(scratch.data()) + 63) / 64 * 64);
  REQUIRE((*k)->run(s, &pool).ok());
  REQUIRE((*k)->run(s, &pool).ok());  // no state carried between runs
  REQUIRE(ref.nbytes() == got.nbytes());
  double worst = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    const double r = ref.element_as_double(i), g = got.element_as_double(i);
    if (std::isnan(r) || std::isnan(g)) {
      if (std::isnan(r) != std::isnan(g)) return 1e30;
      continue;
    }
    worst = std::max(worst, std::fabs(g - r) / (abs_tol + rel_tol * std::fabs(r)));
  }
  return worst;
}

std::vector<Options> all_options() {
  auto cpu = effective_isa();
  REQUIRE(cpu.ok());
  std::vector<Options> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (isa > *cpu) continue;
    for (int t : {1, 2}) out.push_back(Options{isa, t});
  }
  return out;
}

TEST_CASE("f32_batched_matmul__kernels equals the reference MatMul") {
  struct Case {
    Dims a, b;
  };
  const Case cases[] = {
      {{1, 12, 128, 64}, {1, 12, 64, 128}},  // attention Q·K^T
      {{2, 12, 128, 128}, {2, 12, 128, 64}},  // attention P·V, batch 2
      {{17, 33}, {33, 40}},                   // rank 2, odd
      {{3, 1, 5, 7}, {2, 7, 9}},              // batch broadcast both ways
      {{4, 9, 300}, {300, 19}},               // K across two blocks, B shared by the batch
      {{1, 1}, {1, 1}},
      {{2, 37, 3}, {1, 3, 1100}},             // N across two column blocks
  };
  std::mt19937 rng(11);
  for (const Options& o : all_options()) {
    for (const Case& c : cases) {
      const Tensor a = random_tensor(DType::kFloat32, c.a, rng), b = random_tensor(DType::kFloat32, c.b, rng);
      INFO("isa " << isa_name(o.isa) << " threads " << o.threads << " " << dims_to_string(c.a) << " x " << dims_to_string(c.b));
      const double k = static_cast<double>(c.a.back());
      CHECK(run_both("MatMul", 17, {}, {&a, &b}, {false, false}, make_f32_batched_matmul, o, 1e-6 * k, 1e-5) <= 1.0);
    }
  }
}

TEST_CASE("f32_batched_matmul__kernels with folded Transposes (strided heads) equals the reference") {
  struct Case {
    Dims a, b;
    std::vector<std::int64_t> pa, pb, py;
  };
  const Case cases[] = {
      {{1, 128, 12, 64}, {1, 128, 12, 64}, {0, 2, 1, 3}, {0, 2, 3, 1}, {}},          // Q·K^T from [B,S,H,D]
      {{2, 12, 128, 128}, {2, 128, 12, 64}, {}, {0, 2, 1, 3}, {0, 2, 1, 3}},         // P·V, heads written back
      {{3, 5, 7}, {5, 7, 4}, {1, 0, 2}, {}, {1, 0, 2}},                               // odd sizes
      {{2, 9, 3, 5}, {2, 9, 3, 5}, {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 2, 1, 3}},       // B transposed, Y permuted
      {{1, 300, 2, 33}, {1, 300, 2, 33}, {0, 2, 1, 3}, {0, 2, 3, 1}, {}},            // K = 33 heads, N = 300
  };
  std::mt19937 rng(31);
  for (const Options& o : all_options()) {
    for (const Case& c : cases) {
      const Tensor a = random_tensor(DType::kFloat32, c.a, rng), b = random_tensor(DType::kFloat32, c.b, rng);
      std::vector<Attribute> attrs;
      if (!c.pa.empty()) attrs.push_back(ints_attr("sparsify.perm_a", c.pa));
      if (!c.pb.empty()) attrs.push_back(ints_attr("sparsify.perm_b", c.pb));
      if (!c.py.empty()) attrs.push_back(ints_attr("sparsify.perm_y", c.py));
      if (c.a.size() == 4) attrs.push_back(float_attr("sparsify.alpha", 0.125f));  // fuse_matmul_scale
      INFO("isa " << isa_name(o.isa) << " threads " << o.threads << " " << dims_to_string(c.a) << " x " << dims_to_string(c.b));
      CHECK(run_both("MatMul", 17, attrs, {&a, &b}, {false, false}, make_f32_batched_matmul, o, 1e-5, 1e-5) <= 1.0);
    }
  }
}

TEST_CASE("f32_batched_matmul__kernels rejects vectors with a reason") {
  std::mt19937 rng(1);
  const Tensor a = random_tensor(DType::kFloat32, {4, 5}, rng), v = random_tensor(DType::kFloat32, {5}, rng);
  Tensor y(DType::kFloat32, {4});
  Node node;
  node.op_type = "MatMul";
  StepBinding b;
  b.node = &node;
  b.inputs = {&a, &v};
  b.input_is_constant = {false, false};
  b.outputs = {&y};
  auto k = make_f32_batched_matmul(b);
  REQUIRE(!k.ok());
  CHECK(k.status().to_string().find("rank-1") != std::string::npos);
}

TEST_CASE("x_transpose__runtime equals the reference Transpose") {
  struct Case {
    Dims dims;
    std::vector<std::int64_t> perm;
  };
  const Case cases[] = {
      {{1, 128, 12, 64}, {0, 2, 1, 3}}, {{2, 128, 12, 64}, {0, 2, 3, 1}}, {{1, 12, 128, 64}, {0, 2, 1, 3}},
      {{3, 5, 7, 9}, {0, 1, 3, 2}},     {{3, 5, 7, 9}, {3, 2, 1, 0}},     {{2, 3, 4, 5, 6}, {4, 0, 3, 1, 2}},
      {{37, 41}, {1, 0}},               {{1, 1, 5}, {2, 1, 0}},           {{4, 6}, {0, 1}},
      {{33, 1, 17}, {2, 1, 0}},
  };
  std::mt19937 rng(13);
  for (const Options& o : all_options()) {
    if (o.isa != Isa::kScalar) continue;  // ISA-free code; threads matter
    for (DType dt : {DType::kFloat32, DType::kUInt8, DType::kInt64}) {
      for (const Case& c : cases) {
        const Tensor x = random_tensor(dt, c.dims, rng);
        INFO(dims_to_string(c.dims) << " perm " << c.perm.size() << " threads " << o.threads);
        CHECK(run_both("Transpose", 17, {ints_attr("perm", c.perm)}, {&x}, {false}, make_x_transpose, o, 0, 0) == 0.0);
      }
      const Tensor x = random_tensor(dt, {3, 4, 5}, rng);  // no perm: reversed axes
      CHECK(run_both("Transpose", 17, {}, {&x}, {false}, make_x_transpose, o, 0, 0) == 0.0);
    }
  }
}

TEST_CASE("f32_softmax__vmath equals the reference Softmax") {
  std::mt19937 rng(17);
  for (const Options& o : all_options()) {
    for (const Dims& d : {Dims{1, 12, 128, 128}, Dims{3, 7}, Dims{2, 5, 33}, Dims{1000}}) {
      Tensor x = random_tensor(DType::kFloat32, d, rng, -8.0f, 8.0f);
      x.data<float>()[0] = -10000.0f;
      INFO(isa_name(o.isa) << " threads " << o.threads << " " << dims_to_string(d));
      CHECK(run_both("Softmax", 13, {int_attr("axis", -1)}, {&x}, {false}, make_f32_softmax, o, 1e-9, 3e-6) <= 1.0);
      if (d.size() >= 2) {  // opset 11: rows are the flattened dims from axis 1
        CHECK(run_both("Softmax", 11, {int_attr("axis", 1)}, {&x}, {false}, make_f32_softmax, o, 1e-9, 3e-6) <= 1.0);
      }
    }
  }
}

TEST_CASE("f32_layer_norm__vmath equals the reference LayerNormalization") {
  std::mt19937 rng(19);
  for (const Options& o : all_options()) {
    struct Case {
      Dims x, scale;
      std::int64_t axis;
      bool bias;
    };
    for (const Case& c : {Case{{1, 128, 768}, {768}, -1, true}, Case{{2, 3, 17}, {17}, -1, false},
                          Case{{2, 3, 5, 7}, {5, 1}, 2, true}, Case{{4, 33}, {1}, 1, true}}) {
      const Tensor x = random_tensor(DType::kFloat32, c.x, rng, -3.0f, 5.0f);
      const Tensor s = random_tensor(DType::kFloat32, c.scale, rng, 0.5f, 1.5f);
      const Tensor bias = random_tensor(DType::kFloat32, c.scale, rng);
      INFO(isa_name(o.isa) << " threads " << o.threads << " " << dims_to_string(c.x) << " axis " << c.axis);
      std::vector<const Tensor*> in = {&x, &s};
      if (c.bias) in.push_back(&bias);
      std::vector<bool> constant(in.size(), true);
      constant[0] = false;
      CHECK(run_both("LayerNormalization", 17, {int_attr("axis", c.axis), float_attr("epsilon", 1e-5f)}, in, constant,
                     make_f32_layer_norm, o, 2e-5, 2e-5) <= 1.0);
    }
  }
}

TEST_CASE("f32 binary steps: general broadcasts (batched attention mask) equal the reference") {
  struct Case {
    Dims a, b;
  };
  const Case cases[] = {
      {{16, 12, 8, 9}, {16, 1, 1, 9}}, {{2, 3, 1, 5}, {1, 3, 4, 1}}, {{3, 1, 7}, {5, 1}},
      {{1, 1, 1, 9}, {4, 12, 8, 9}},   {{4, 300, 70}, {4, 1, 70}},  {{6, 1}, {1, 5}},
  };
  std::mt19937 rng(29);
  for (const Options& o : all_options()) {
    if (o.isa != Isa::kScalar) continue;  // ISA-free loops
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
      for (const Case& c : cases) {
        const Tensor a = random_tensor(DType::kFloat32, c.a, rng, 0.5f, 2.0f), b = random_tensor(DType::kFloat32, c.b, rng, 0.5f, 2.0f);
        INFO(op << " " << dims_to_string(c.a) << " , " << dims_to_string(c.b) << " threads " << o.threads);
        CHECK(run_both(op, 14, {}, {&a, &b}, {false, false}, make_f32_binary, o, 1e-7, 1e-6) <= 1.0);
      }
    }
  }
}

TEST_CASE("f32_erf__vmath equals the reference Erf") {
  std::mt19937 rng(23);
  for (const Options& o : all_options()) {
    for (const Dims& d : {Dims{1, 128, 3072}, Dims{5, 7}, Dims{1}}) {
      const Tensor x = random_tensor(DType::kFloat32, d, rng, -5.0f, 5.0f);
      INFO(isa_name(o.isa) << " threads " << o.threads << " " << dims_to_string(d));
      CHECK(run_both("Erf", 13, {}, {&x}, {false}, make_f32_erf, o, 3e-7, 2e-6) <= 1.0);
    }
  }
}

}  // namespace
}  // namespace sparsify::engine
