// The glue between the kernels of a pruned ResNet-50 (fp32 and int8 QDQ), against the reference:
//  - f32/u8_max_pool2d_rows__runtime equal the reference MaxPool bit for bit (3x3 s2 p1, 2x2 s2,
//    3x3 s1 p1, 1x1, ceil_mode, odd sizes, asymmetric pads), every ISA variant, 1 and 2 threads;
//  - qu8_qdq_add__runtime equals the reference QdqAdd bit for bit (u8 + u8, u8 + f32, f32 + u8;
//    Relu or not; float and/or quantized outputs; ties; sizes not multiples of 16; both threads);
//  - qu8_matmul_dequant_const_right__kernels equals the unfused QLinearMatMul step + DequantizeLinear
//    + Add bit for bit (sparse and dense, with and without bias, tails, every ISA, both threads), and
//    the reference QLinearMatMulDequantize within one output quantization step (ties);
//  - on small models, the passes (fuse_residual, fold_qdq's MaxPool, fold_qdq_add,
//    fuse_qmatmul_dequant) fire, say so in the log, and the optimized plan agrees with the
//    unoptimized one (exactly for the int8 glue).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "engine/engine.h"
#include "engine/graph/onnx_import.h"
#include "engine/ops/op_kernel.h"
#include "engine/passes/passes.h"
#include "engine/passes/test_models.h"
#include "engine/runtime/plan.h"
#include "engine/runtime/plan_impl.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {
namespace {

using testing::ModelBuilder;

Attribute ints_attr(const char* name, std::vector<std::int64_t> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute int_attr(const char* name, std::int64_t v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return a;
}

bool cpu_runs(Isa isa) {
  auto cpu = effective_isa();
  REQUIRE(cpu.ok());
  return isa <= *cpu;
}

void check_identical(const Tensor& ref, const Tensor& got) {
  REQUIRE(ref.dtype() == got.dtype());
  REQUIRE(ref.dims() == got.dims());
  std::int64_t bad = -1;
  for (std::int64_t i = 0; i < ref.numel() && bad < 0; ++i) {
    if (ref.element_as_double(i) != got.element_as_double(i)) bad = i;
  }
  INFO("first mismatch at " << bad << ": reference " << (bad >= 0 ? ref.element_as_double(bad) : 0.0) << ", got "
                            << (bad >= 0 ? got.element_as_double(bad) : 0.0));
  CHECK(bad < 0);
}

// Runs the reference op of `node` into fresh outputs.
std::vector<Tensor> run_reference(const Node& node, const std::vector<const Tensor*>& in) {
  const OpInfo* info = find_op(node.op_type);
  REQUIRE(info != nullptr);
  std::vector<Tensor> outs(node.outputs.size());
  OpContext ctx(node, 17, in, &outs);
  REQUIRE(info->prepare(ctx).ok());
  for (std::size_t i = 0; i < outs.size(); ++i) {
    if (node.outputs[i] != kNoValue) outs[i] = Tensor(outs[i].dtype(), outs[i].dims());
  }
  REQUIRE(info->run(ctx).ok());
  return outs;
}

// Binds `factory` to `node` and runs it twice (no state carried between runs) into `outs`.
std::string run_step(StepFactory factory, const Node& node, const std::vector<const Tensor*>& in,
                     const std::vector<bool>& constant, std::vector<Tensor>& outs, int threads, Isa isa,
                     SparseMode sparse = SparseMode::kAuto) {
  StepBinding b;
  b.sparse = sparse;
  b.node = &node;
  b.opset = 17;
  b.inputs = in;
  b.input_is_constant = constant;
  for (Tensor& t : outs) b.outputs.push_back(t.has_data() ? &t : nullptr);
  b.threads = threads;
  b.isa = isa;
  ThreadPool pool(threads);
  b.pool = &pool;
  auto k = factory(b);
  REQUIRE(k.ok());
  std::vector<std::uint64_t> scratch((*k)->scratch_bytes() / 8 + 16);
  auto* sp = reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(scratch.data()) + 63) & ~std::uintptr_t{63});
  REQUIRE((*k)->run(sp, &pool).ok());
  REQUIRE((*k)->run(sp, &pool).ok());
  return (*k)->name();
}

// ---- MaxPool ---------------------------------------------------------------------------------------

struct PoolCase {
  Dims x;
  std::vector<std::int64_t> kernel, strides, pads;
  int ceil_mode;
};

const PoolCase kPoolCases[] = {
    {{1, 64, 112, 112}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0},  // ResNet-50's stem pool
    {{2, 3, 17, 19}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0},     {{1, 5, 9, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0},
    {{1, 4, 13, 11}, {3, 3}, {1, 1}, {1, 1, 1, 1}, 0},     {{1, 3, 10, 9}, {3, 2}, {2, 3}, {0, 1, 2, 0}, 1},
    {{1, 2, 7, 7}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 0},       {{3, 1, 6, 33}, {2, 5}, {1, 2}, {1, 2, 0, 2}, 1},
};

Node pool_node(const PoolCase& c) {
  Node n;
  n.name = "pool";
  n.op_type = "MaxPool";
  n.inputs = {0};
  n.outputs = {1};
  n.attributes = {ints_attr("kernel_shape", c.kernel), ints_attr("strides", c.strides), ints_attr("pads", c.pads),
                  int_attr("ceil_mode", c.ceil_mode)};
  return n;
}

TEST_CASE("max_pool2d_rows (f32, u8) equal the reference MaxPool") {
  const int threads = GENERATE(1, 2);
  const Isa isa = GENERATE(Isa::kScalar, Isa::kAvx2, Isa::kAvx512);
  if (!cpu_runs(isa)) return;
  const bool u8 = GENERATE(false, true);
  std::mt19937 rng(3);
  for (const PoolCase& c : kPoolCases) {
    const Node node = pool_node(c);
    Tensor x(u8 ? DType::kUInt8 : DType::kFloat32, c.x);
    std::uniform_real_distribution<float> u(-3, 3);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      if (u8) x.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng() % 256);
      else x.data<float>()[i] = u(rng);
    }
    const std::vector<Tensor> ref = run_reference(node, {&x});
    std::vector<Tensor> got = {Tensor(ref[0].dtype(), ref[0].dims())};
    INFO(dims_to_string(c.x) << " u8=" << u8 << " threads=" << threads << " isa=" << isa_name(isa));
    const std::string name = run_step(u8 ? make_u8_max_pool2d_rows : make_f32_max_pool2d_rows, node, {&x}, {false}, got,
                                      threads, isa);
    CHECK(name == str_cat(u8 ? "u8" : "f32", "_max_pool2d_rows__", isa_name(isa)));
    check_identical(ref[0], got[0]);
  }
}

TEST_CASE("max_pool2d_rows rejects what it does not cover, with the reason") {
  PoolCase c{{1, 2, 8, 8}, {3, 3}, {1, 1}, {1, 1, 1, 1}, 0};
  Node node = pool_node(c);
  node.attributes.push_back(ints_attr("dilations", {2, 2}));
  Tensor x(DType::kFloat32, c.x), y(DType::kFloat32, {1, 2, 6, 6});
  StepBinding b;
  b.node = &node;
  b.opset = 17;
  b.inputs = {&x};
  b.input_is_constant = {false};
  b.outputs = {&y};
  auto k = make_f32_max_pool2d_rows(b);
  REQUIRE(!k.ok());
  CHECK(k.status().to_string().find("dilation") != std::string::npos);
  CHECK(!make_u8_max_pool2d_rows(b).ok());  // float input
}

// ---- QdqAdd -----------------------------------------------------------------------------------------

Tensor scalar_f32(float v) {
  Tensor t(DType::kFloat32, {});
  t.data<float>()[0] = v;
  return t;
}
Tensor scalar_u8(std::uint8_t v) {
  Tensor t(DType::kUInt8, {});
  t.data<std::uint8_t>()[0] = v;
  return t;
}

TEST_CASE("qu8_qdq_add__runtime equals the reference QdqAdd bit for bit") {
  const int threads = GENERATE(1, 2);
  const Isa isa = GENERATE(Isa::kScalar, Isa::kAvx2, Isa::kAvx512);
  if (!cpu_runs(isa)) return;
  const int kinds = GENERATE(0, 1, 2);   // u8 + u8, u8 + f32, f32 + u8
  const int outputs = GENERATE(1, 2, 3);  // bit 0: float Y, bit 1: quantized Yq
  const bool relu = GENERATE(false, true);
  std::mt19937 rng(11);
  for (const Dims& dims : {Dims{1, 3, 5, 7}, Dims{1, 256, 56, 56}, Dims{2, 17}}) {
    INFO(dims_to_string(dims) << " kinds=" << kinds << " outputs=" << outputs << " relu=" << relu << " threads=" << threads
                              << " isa=" << isa_name(isa));
    auto operand = [&](bool q) {
      Tensor t(q ? DType::kUInt8 : DType::kFloat32, dims);
      std::uniform_real_distribution<float> u(-2, 2);
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        if (q) t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng() % 256);
        else t.data<float>()[i] = i % 5 == 0 ? 0.125f * static_cast<float>(static_cast<int>(rng() % 64) - 32) : u(rng);
      }
      return t;
    };
    const bool aq = kinds != 2, bq = kinds != 1;
    Tensor a = operand(aq), b = operand(bq);
    // Power-of-two scales put sums exactly on .5 ties of the output scale.
    Tensor sa = scalar_f32(0.0625f), za = scalar_u8(120), sb = scalar_f32(0.0190f), zb = scalar_u8(7);
    Tensor so = scalar_f32(0.125f), zo = scalar_u8(relu ? 0 : 131);
    Node node;
    node.name = "add";
    node.op_type = "QdqAdd";
    node.inputs = {0, aq ? 1 : kNoValue, aq ? 2 : kNoValue, 3, bq ? 4 : kNoValue, bq ? 5 : kNoValue, 6, 7};
    node.outputs = {(outputs & 1) ? 8 : kNoValue, (outputs & 2) ? 9 : kNoValue};
    node.attributes = {int_attr("relu", relu ? 1 : 0)};
    const std::vector<const Tensor*> in = {&a, aq ? &sa : nullptr, aq ? &za : nullptr, &b, bq ? &sb : nullptr,
                                           bq ? &zb : nullptr, &so, &zo};
    const std::vector<Tensor> ref = run_reference(node, in);
    std::vector<Tensor> got(2);
    for (int i = 0; i < 2; ++i) {
      if (node.outputs[i] != kNoValue) got[i] = Tensor(ref[i].dtype(), ref[i].dims());
    }
    const std::string name = run_step(make_qu8_qdq_add, node, in, {false, true, true, false, true, true, true, true}, got,
                                      threads, isa);
    CHECK(name == str_cat("qu8_add_loop__", isa_name(isa)));
    for (int i = 0; i < 2; ++i) {
      if (node.outputs[i] != kNoValue) check_identical(ref[i], got[i]);
    }
  }
}

// ---- QLinearMatMulDequantize -----------------------------------------------------------------------

TEST_CASE("qu8_matmul_dequant_const_right__kernels equals QLinearMatMul + DequantizeLinear + Add steps bit for bit") {
  const int threads = GENERATE(1, 2);
  const Isa isa = GENERATE(Isa::kScalar, Isa::kAvx2, Isa::kAvx512Vnni);
  if (!cpu_runs(isa)) return;
  const SparseMode mode = GENERATE(SparseMode::kOn, SparseMode::kOff);
  const bool with_bias = GENERATE(false, true);
  std::mt19937 rng(21);
  struct Case {
    std::int64_t m, k, n;
  };
  for (const Case c : {Case{1, 8, 5}, Case{7, 36, 40}, Case{130, 64, 300}, Case{19, 12, 17}}) {
    INFO("m=" << c.m << " k=" << c.k << " n=" << c.n << " bias=" << with_bias << " threads=" << threads
              << " isa=" << isa_name(isa) << " sparse=" << sparse_mode_name(mode));
    Tensor x(DType::kUInt8, {1, c.m, c.k}), w(DType::kInt8, {c.k, c.n}), bias(DType::kFloat32, {c.n});
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng() % 256);
    std::uniform_real_distribution<float> u(-3, 3);
    for (std::int64_t j = 0; j < c.n; ++j) bias.data<float>()[j] = u(rng);
    for (std::int64_t kk = 0; kk < c.k; ++kk)  // 4-groups of K per column, 90 % of them zero
      for (std::int64_t j = 0; j < c.n; ++j) {
        const bool keep = (kk / 4 * 7 + j * 13) % 10 == 0;
        w.data<std::int8_t>()[kk * c.n + j] = keep ? static_cast<std::int8_t>(static_cast<int>(rng() % 201) - 100) : 0;
      }
    // Power-of-two output scale and a small one: products land on .5 ties and saturate.
    Tensor xs = scalar_f32(0.05f), xz = scalar_u8(120), ws = scalar_f32(0.01f), ys = scalar_f32(0.125f), yz = scalar_u8(131);
    Tensor wz(DType::kInt8, {});
    wz.data<std::int8_t>()[0] = 0;
    Node node;
    node.name = "qmm";
    node.op_type = "QLinearMatMulDequantize";
    node.inputs = {0, 1, 2, 3, 4, 5, 6, 7};
    std::vector<const Tensor*> in = {&x, &xs, &xz, &w, &ws, &wz, &ys, &yz};
    std::vector<bool> constant = {false, true, true, true, true, true, true, true};
    if (with_bias) {
      node.inputs.push_back(8);
      in.push_back(&bias);
      constant.push_back(true);
    }
    node.outputs = {9};
    const std::vector<Tensor> ref = run_reference(node, in);
    std::vector<Tensor> got(1);
    got[0] = Tensor(ref[0].dtype(), ref[0].dims());
    const std::string name = run_step(make_qu8_matmul_const_right, node, in, constant, got, threads, isa, mode);
    CHECK(name.find(with_bias ? "-> f32 dequantized + bias" : "-> f32 dequantized") != std::string::npos);
    // The unfused steps: QLinearMatMul's u8 (same kernels), then DequantizeLinear and Add in float.
    Node plain = node;
    plain.op_type = "QLinearMatMul";
    plain.inputs.resize(8);
    std::vector<Tensor> q(1);
    q[0] = Tensor(DType::kUInt8, ref[0].dims());
    run_step(make_qu8_matmul_const_right, plain, {in.begin(), in.begin() + 8}, {constant.begin(), constant.begin() + 8}, q,
             threads, isa, mode);
    Tensor want(DType::kFloat32, ref[0].dims());
    for (std::int64_t i = 0; i < want.numel(); ++i) {
      float y = static_cast<float>(static_cast<int>(q[0].data<std::uint8_t>()[i]) - 131) * 0.125f;
      if (with_bias) y += bias.data<float>()[i % c.n];
      want.data<float>()[i] = y;
    }
    check_identical(want, got[0]);
    // The double-precision reference rounds ties of the u8 grid its own way: one step at most.
    double diff = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i) diff = std::max(diff, std::abs(ref[0].element_as_double(i) - got[0].element_as_double(i)));
    CHECK(diff <= 0.125 * (1 + 1e-6));
  }
}

// ---- whole models: passes + plan against the unoptimized plan --------------------------------------

bool log_has(const PassState& s, const std::string& pass, const std::string& text) {
  for (const PassLogEntry& e : s.log) {
    if (e.pass == pass && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> op_types(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

// Max |optimized - unoptimized| over every output, with `opt` for the optimized engine.
double max_diff_vs_unoptimized(const std::string& bytes, const std::vector<Tensor>& inputs, Options opt) {
  Options plain = opt;
  plain.optimize = false;
  auto a = Engine::load_bytes(bytes, ".", opt);
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

Tensor random_f32(const Dims& dims, unsigned seed) {
  Tensor t(DType::kFloat32, dims);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}
Tensor random_u8(const Dims& dims, unsigned seed) {
  Tensor t(DType::kUInt8, dims);
  std::mt19937 rng(seed);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng() % 256);
  return t;
}

// A bottleneck's tail: x -> Conv a (3x3) -> Conv b (1x1, 90 % zeros), Conv d (1x1 stride 1, the
// "downsample") on x; Add(b, d) -> Relu -> Conv c; Add(c, relu) -> Relu -> y.
std::string residual_net() {
  ModelBuilder b;
  b.input("x", {1, 16, 9, 9});
  auto pruned = [&](const std::string& name, std::vector<std::int64_t> dims) {
    std::int64_t n = 1;
    for (std::int64_t d : dims) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    std::mt19937 rng(static_cast<unsigned>(n));
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = i % 10 == 3 ? u(rng) : 0.0f;
    b.init(name, dims, v);
  };
  pruned("wa", {16, 16, 3, 3});
  pruned("wb", {32, 16, 1, 1});
  pruned("wd", {32, 16, 1, 1});
  pruned("wc", {32, 32, 1, 1});
  b.init("bb", {32});
  ModelBuilder::attr_ints(b.node("Conv", "conv_a", {"x", "wa"}, {"a"}), "pads", {1, 1, 1, 1});
  b.node("Conv", "conv_b", {"a", "wb", "bb"}, {"cb"});
  b.node("Conv", "conv_d", {"x", "wd"}, {"cd"});
  b.node("Add", "add1", {"cb", "cd"}, {"s1"});
  b.node("Relu", "relu1", {"s1"}, {"r1"});
  b.node("Conv", "conv_c", {"r1", "wc"}, {"cc"});
  b.node("Add", "add2", {"r1", "cc"}, {"s2"});
  b.node("Relu", "relu2", {"s2"}, {"y"});
  b.output("y");
  return b.bytes();
}

TEST_CASE("fuse_residual folds Add(+Relu) into the later Conv; sparse and dense plans match the reference") {
  const std::string bytes = residual_net();
  auto g = import_onnx_bytes(bytes, ".", "residual");
  REQUIRE(g.ok());
  auto s = run_passes(*g, {Tensor::shape_only(DType::kFloat32, {1, 16, 9, 9})}, true, true);
  REQUIRE(s.ok());
  CHECK(op_types(s->graph) == std::vector<std::string>{"Conv", "Conv", "Conv", "Conv"});
  CHECK(log_has(*s, "fuse_residual", "Conv 'conv_d' absorbed Add 'add1' (residual)"));
  CHECK(log_has(*s, "fuse_residual", "Conv 'conv_c' absorbed Add 'add2' (residual)"));
  CHECK(log_has(*s, "fuse_activation", "Conv 'conv_d' absorbed Relu 'relu1'"));
  const SparseMode mode = GENERATE(SparseMode::kOn, SparseMode::kOff);
  const int threads = GENERATE(1, 2);
  Options opt;
  opt.sparse = mode;
  opt.threads = threads;
  INFO("sparse " << sparse_mode_name(mode) << " threads " << threads);
  CHECK(max_diff_vs_unoptimized(bytes, {random_f32({1, 16, 9, 9}, 5)}, opt) < 1e-5);
  auto e = Engine::load_bytes(bytes, ".", opt);
  REQUIRE(e.ok());
  auto cm = e->compile({Tensor::shape_only(DType::kFloat32, {1, 16, 9, 9})});
  REQUIRE(cm.ok());
  const std::string dump = (*cm)->dump_plan();
  CHECK(dump.find(mode == SparseMode::kOn ? "+ residual (in the kernel)" : "+ residual add+clamp (separate pass)") !=
        std::string::npos);
}

// QDQ residual: aq, bq (uint8 inputs) and xf (float) ->
//   Add(DQ(aq), DQ(bq)) -> Relu -> {Q -> DQ -> y1, float r1};  Add(DQ(aq), r1) -> Relu -> Q -> DQ -> y2;
//   Add(DQ(aq), DQ(bq)) -> Q -> DQ -> y3 (MobileNetV2's form, no Relu);
//   DQ(aq) -> MaxPool 3x3 s2 p1 -> Q (same parameters) -> DQ -> y4; the same with other parameters -> y5.
std::string qdq_glue_net() {
  ModelBuilder b;
  const std::vector<std::int64_t> dims = {1, 8, 13, 15};
  b.input("aq", dims, onnx::TensorProto::UINT8);
  b.input("bq", dims, onnx::TensorProto::UINT8);
  b.init("sa", {}, {0.0625f});
  b.init_int("za", {}, {100}, onnx::TensorProto::UINT8);
  b.init("sb", {}, {0.031f});
  b.init_int("zb", {}, {140}, onnx::TensorProto::UINT8);
  b.init("s1", {}, {0.05f});
  b.init_int("z1", {}, {0}, onnx::TensorProto::UINT8);
  b.init("s3", {}, {0.125f});
  b.init_int("z3", {}, {128}, onnx::TensorProto::UINT8);
  b.node("DequantizeLinear", "dqa", {"aq", "sa", "za"}, {"af"});
  b.node("DequantizeLinear", "dqb", {"bq", "sb", "zb"}, {"bf"});
  b.node("Add", "add1", {"af", "bf"}, {"s1v"});
  b.node("Relu", "relu1", {"s1v"}, {"r1"});
  b.node("QuantizeLinear", "q1", {"r1", "s1", "z1"}, {"r1q"});
  b.node("DequantizeLinear", "dq1", {"r1q", "s1", "z1"}, {"y1"});
  b.node("Add", "add2", {"af", "r1"}, {"s2v"});
  b.node("Relu", "relu2", {"s2v"}, {"r2"});
  b.node("QuantizeLinear", "q2", {"r2", "s1", "z1"}, {"r2q"});
  b.node("DequantizeLinear", "dq2", {"r2q", "s1", "z1"}, {"y2"});
  b.node("Add", "add3", {"bf", "af"}, {"s3v"});
  b.node("QuantizeLinear", "q3", {"s3v", "s3", "z3"}, {"s3q"});
  b.node("DequantizeLinear", "dq3", {"s3q", "s3", "z3"}, {"y3"});
  auto* p4 = b.node("MaxPool", "pool4", {"af"}, {"p4"});
  ModelBuilder::attr_ints(p4, "kernel_shape", {3, 3});
  ModelBuilder::attr_ints(p4, "strides", {2, 2});
  ModelBuilder::attr_ints(p4, "pads", {1, 1, 1, 1});
  b.node("QuantizeLinear", "q4", {"p4", "sa", "za"}, {"p4q"});
  b.node("DequantizeLinear", "dq4", {"p4q", "sa", "za"}, {"y4"});
  auto* p5 = b.node("MaxPool", "pool5", {"bf"}, {"p5"});
  ModelBuilder::attr_ints(p5, "kernel_shape", {2, 2});
  ModelBuilder::attr_ints(p5, "strides", {2, 2});
  b.node("QuantizeLinear", "q5", {"p5", "s3", "z3"}, {"p5q"});
  b.node("DequantizeLinear", "dq5", {"p5q", "s3", "z3"}, {"y5"});
  for (const char* y : {"y1", "r1", "y2", "y3", "y4", "y5"}) b.output(y);
  return b.bytes();
}

TEST_CASE("fold_qdq_add and the 8-bit MaxPool: the QDQ glue runs on uint8, exactly") {
  const std::string bytes = qdq_glue_net();
  auto g = import_onnx_bytes(bytes, ".", "qdq_glue");
  REQUIRE(g.ok());
  const Dims dims = {1, 8, 13, 15};
  auto s = run_passes(*g, {Tensor::shape_only(DType::kUInt8, dims), Tensor::shape_only(DType::kUInt8, dims)}, true, true);
  REQUIRE(s.ok());
  CHECK(log_has(*s, "fold_qdq", "MaxPool 'pool4' runs on the 8-bit values"));
  CHECK(log_has(*s, "fold_qdq", "kept MaxPool 'pool5' in float: scale/zero point differ"));
  CHECK(log_has(*s, "fold_qdq_add", "QdqAdd 'add1' replaces 2 DequantizeLinear/Add/Relu/QuantizeLinear (float sum still read)"));
  CHECK(log_has(*s, "fold_qdq_add", "QdqAdd 'add2' replaces 1 DequantizeLinear/Add/Relu/QuantizeLinear"));
  CHECK(log_has(*s, "fold_qdq_add", "QdqAdd 'add3' replaces 2 DequantizeLinear/Add/QuantizeLinear"));
  int qdq_adds = 0, adds = 0, relus = 0;
  for (const Node& n : s->graph.nodes) {
    qdq_adds += n.op_type == "QdqAdd";
    adds += n.op_type == "Add";
    relus += n.op_type == "Relu";
    if (n.op_type == "MaxPool" && n.name == "pool4") CHECK(n.inputs[0] == s->graph.find_value("aq"));
  }
  CHECK(qdq_adds == 3);
  CHECK(adds == 0);
  CHECK(relus == 0);
  const int threads = GENERATE(1, 2);
  Options opt;
  opt.threads = threads;
  CHECK(max_diff_vs_unoptimized(bytes, {random_u8(dims, 1), random_u8(dims, 2)}, opt) == 0.0);
  auto e = Engine::load_bytes(bytes, ".", opt);
  REQUIRE(e.ok());
  auto cm = e->compile({Tensor::shape_only(DType::kUInt8, dims), Tensor::shape_only(DType::kUInt8, dims)});
  REQUIRE(cm.ok());
  const std::string dump = (*cm)->dump_plan();
  CHECK(dump.find("qu8_qdq_add__runtime") != std::string::npos);
  CHECK(dump.find("u8_max_pool2d_rows__runtime (u8_max_pool2d_rows__") != std::string::npos);
}

// Three QLinearMatMuls on one u8 input: qmm1 -> DQ (its own parameters) -> Add bias [64] -> y1;
// qmm2 -> DQ (other scale, kept apart) -> y2; qmm3 -> DQ -> Add of an activation (no bias) -> y3.
std::string qmatmul_dequant_net() {
  ModelBuilder b;
  b.input("x", {1, 9, 32}, onnx::TensorProto::UINT8);
  b.input("r", {1, 9, 64});
  b.init("xs", {}, {0.03f});
  b.init_int("xz", {}, {11}, onnx::TensorProto::UINT8);
  std::vector<std::int64_t> w(32 * 64);
  std::mt19937 rng(5);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = (i / 64 / 4 + i % 64) % 5 == 0 ? static_cast<int>(rng() % 201) - 100 : 0;
  b.init_int("w", {32, 64}, w, onnx::TensorProto::INT8);
  b.init("ws", {}, {0.01f});
  b.init_int("wz", {}, {0}, onnx::TensorProto::INT8);
  b.init("ys", {}, {0.0625f});
  b.init_int("yz", {}, {128}, onnx::TensorProto::UINT8);
  b.init("ys2", {}, {0.07f});
  std::vector<float> bias(64);
  for (std::size_t j = 0; j < bias.size(); ++j) bias[j] = 0.01f * static_cast<float>(j) - 0.3f;
  b.init("bias", {64}, bias);
  b.node("QLinearMatMul", "qmm1", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}, {"q1"});
  b.node("DequantizeLinear", "dq1", {"q1", "ys", "yz"}, {"f1"});
  b.node("Add", "add1", {"bias", "f1"}, {"y1"});
  b.node("QLinearMatMul", "qmm2", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}, {"q2"});
  b.node("DequantizeLinear", "dq2", {"q2", "ys2", "yz"}, {"y2"});
  b.node("QLinearMatMul", "qmm3", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"}, {"q3"});
  b.node("DequantizeLinear", "dq3", {"q3", "ys", "yz"}, {"f3"});
  b.node("Add", "add3", {"f3", "r"}, {"y3"});
  for (const char* y : {"y1", "y2", "y3"}) b.output(y);
  return b.bytes();
}

TEST_CASE("fuse_qmatmul_dequant: QLinearMatMul + DequantizeLinear [+ bias Add] run as one step, exactly") {
  const std::string bytes = qmatmul_dequant_net();
  auto g = import_onnx_bytes(bytes, ".", "qmatmul_dequant");
  REQUIRE(g.ok());
  const Dims dx = {1, 9, 32}, dr = {1, 9, 64};
  auto s = run_passes(*g, {Tensor::shape_only(DType::kUInt8, dx), Tensor::shape_only(DType::kFloat32, dr)}, true, true);
  REQUIRE(s.ok());
  CHECK(log_has(*s, "fuse_qmatmul_dequant", "QLinearMatMulDequantize 'qmm1' replaces QLinearMatMul/DequantizeLinear/bias Add"));
  CHECK(log_has(*s, "fuse_qmatmul_dequant", "kept QLinearMatMul 'qmm2' and DequantizeLinear 'dq2' apart: DequantizeLinear scale/zero point differ"));
  CHECK(log_has(*s, "fuse_qmatmul_dequant", "QLinearMatMul 'qmm3': Add 'add3' stays separate: the other Add input is not a constant float32"));
  CHECK(op_types(s->graph) == std::vector<std::string>{"QLinearMatMulDequantize", "QLinearMatMul", "DequantizeLinear",
                                                        "QLinearMatMulDequantize", "Add"});
  const int threads = GENERATE(1, 2);
  const SparseMode mode = GENERATE(SparseMode::kOn, SparseMode::kOff);
  Options opt;
  opt.threads = threads;
  opt.sparse = mode;
  CHECK(max_diff_vs_unoptimized(bytes, {random_u8(dx, 3), random_f32(dr, 4)}, opt) == 0.0);
  auto e = Engine::load_bytes(bytes, ".", opt);
  REQUIRE(e.ok());
  auto cm = e->compile({Tensor::shape_only(DType::kUInt8, dx), Tensor::shape_only(DType::kFloat32, dr)});
  REQUIRE(cm.ok());
  const std::string dump = (*cm)->dump_plan();
  CHECK(dump.find("qu8_matmul_dequant_const_right__kernels") != std::string::npos);
  CHECK(dump.find("-> f32 dequantized + bias") != std::string::npos);
}

TEST_CASE("QdqAdd and QLinearMatMulDequantize are internal: a model that names them is rejected at import") {
  for (const char* op : {"QdqAdd", "QLinearMatMulDequantize"}) {
    ModelBuilder b;
    b.input("a", {2}, onnx::TensorProto::UINT8);
    b.node(op, "x", {"a", "a", "a", "a", "a", "a", "a", "a"}, {"y"});
    b.output("y");
    auto g = import_onnx_bytes(b.bytes(), ".", "internal");
    INFO(op);
    REQUIRE(!g.ok());
    CHECK(g.status().code() == StatusCode::kUnsupported);
  }
}

}  // namespace
}  // namespace sparsify::engine
