// Execution plan: results equal the reference executor, run() allocates nothing (arena counter and
// a global operator new hook), inputs are validated by name, and the dump shows every choice.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include "engine/engine.h"
#include "engine/passes/test_models.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/plan.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_news{0};
}  // namespace

// Counts heap allocations while g_counting is set (the no-allocation test). GCC cannot see that
// these replacements pair malloc with free, hence the pragma.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace sparsify::engine {
namespace {

using testing::ModelBuilder;

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

// The reference executor on the unoptimized graph: the oracle.
std::vector<Tensor> reference(const std::string& bytes, const std::vector<Tensor>& inputs) {
  auto e = Engine::load_bytes(bytes);
  REQUIRE(e.ok());
  auto ex = ReferenceExecutor::compile(std::make_shared<const Graph>(e->graph()), inputs);
  REQUIRE(ex.ok());
  auto out = ex->run(inputs);
  REQUIRE(out.ok());
  return *out;
}

TEST_CASE("the plan matches the reference executor with 1 and 2 threads, batch 1 and 3") {
  const std::string bytes = testing::small_cnn();
  for (int threads : {1, 2}) {
    Options o;
    o.threads = threads;
    auto e = Engine::load_bytes(bytes, ".", o);
    REQUIRE(e.ok());
    for (std::int64_t batch : {1, 3}) {
      const std::vector<Tensor> in = {random_tensor({batch, 3, 12, 12}, static_cast<unsigned>(batch))};
      auto got = e->run(in);
      REQUIRE(got.ok());
      CHECK(max_diff((*got)[0], reference(bytes, in)[0]) < 1e-4);
    }
  }
}

TEST_CASE("run() allocates nothing when every step has an optimized implementation") {
  const int threads = GENERATE(1, 2);
  Options o;
  o.threads = threads;
  auto e = Engine::load_bytes(testing::small_cnn(), ".", o);
  REQUIRE(e.ok());
  const std::vector<Tensor> in = {random_tensor({2, 3, 12, 12}, 5)};
  auto cm = e->compile(in);
  REQUIRE(cm.ok());
  REQUIRE((*cm)->plan() != nullptr);
  INFO((*cm)->dump_plan());
  REQUIRE((*cm)->plan()->reference_steps() == 0);
  std::vector<Tensor> out = (*cm)->make_outputs();
  REQUIRE((*cm)->run(in, out).ok());  // warm: first-touch paths
  const std::uint64_t arenas = Arena::allocation_count();
  g_news = 0;
  g_counting = true;
  Status s;
  for (int i = 0; i < 3; ++i) s = (*cm)->run(in, out);
  g_counting = false;
  REQUIRE(s.ok());
  CHECK(g_news.load() == 0);
  CHECK(Arena::allocation_count() == arenas);
  std::map<std::string, Tensor> named = {{"x", in[0]}};
  g_news = 0;
  g_counting = true;
  s = (*cm)->run(named, out);
  g_counting = false;
  REQUIRE(s.ok());
  CHECK(g_news.load() == 0);
}

TEST_CASE("the dump names kernels, arena ranges, fusions and the pass log") {
  auto e = Engine::load_bytes(testing::small_cnn());
  REQUIRE(e.ok());
  auto cm = e->compile({Tensor::shape_only(DType::kFloat32, {1, 3, 12, 12})});
  REQUIRE(cm.ok());
  const std::string dump = (*cm)->dump_plan();
  CHECK_THAT(dump, Catch::Contains("Conv 'conv1' -> f32_conv2d__kernels"));
  CHECK_THAT(dump, Catch::Contains("[+Relu fused]"));
  CHECK_THAT(dump, Catch::Contains("rejected reference: slower"));
  CHECK_THAT(dump, Catch::Contains("Flatten 'flatten' -> alias"));
  CHECK_THAT(dump, Catch::Contains("[+residual+Relu fused]"));
  CHECK_THAT(dump, Catch::Contains("fuse_residual: Conv 'conv2' absorbed Add 'residual' (residual)"));
  CHECK_THAT(dump, Catch::Contains("@arena["));
  CHECK_THAT(dump, Catch::Contains("fuse_conv_bn: Conv 'conv1' absorbed BatchNormalization 'bn1'"));
}

TEST_CASE("in-place and alias steps share storage; values with overlapping lives do not") {
  Options plain;  // unfused: the residual Add and its Relu stay separate steps
  plain.optimize = false;
  auto e = Engine::load_bytes(testing::small_cnn(), ".", plain);
  REQUIRE(e.ok());
  auto cm = e->compile({Tensor::shape_only(DType::kFloat32, {1, 3, 12, 12})});
  REQUIRE(cm.ok());
  const ExecutionPlan& p = *(*cm)->plan();
  const Graph& g = p.graph();
  auto slot = [&](const char* name) { return p.slots()[g.find_value(name)]; };
  CHECK(slot("a1").offset == slot("r2").offset);  // Relu in place of the residual Add
  CHECK(slot("g1").offset == slot("f1").offset);  // Flatten is a view
  CHECK(slot("p1").offset != slot("c2").offset);  // p1 is read by the Add after conv2 writes c2
  CHECK(p.arena_bytes() < p.unshared_bytes());
}

TEST_CASE("a Conv the kernels reject runs the reference and says why") {
  ModelBuilder b;
  b.input("x", {1, 2, 8});
  b.init("w", {4, 2, 3});
  b.node("Conv", "conv1d", {"x", "w"}, {"y"});
  b.output("y");
  auto e = Engine::load_bytes(b.bytes());
  REQUIRE(e.ok());
  auto cm = e->compile({Tensor::shape_only(DType::kFloat32, {1, 2, 8})});
  REQUIRE(cm.ok());
  CHECK_THAT((*cm)->dump_plan(), Catch::Contains("rejected f32_conv2d__kernels: unsupported: input rank 3"));
  CHECK((*cm)->plan()->reference_steps() == 1);
}

TEST_CASE("inputs are validated by name, dtype and shape") {
  auto e = Engine::load_bytes(testing::small_cnn());
  REQUIRE(e.ok());
  auto cm = e->compile({Tensor::shape_only(DType::kFloat32, {1, 3, 12, 12})});
  REQUIRE(cm.ok());
  std::vector<Tensor> out = (*cm)->make_outputs();
  Status s = (*cm)->run({Tensor(DType::kFloat32, {1, 3, 12, 11})}, out);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("input 'x' has shape [1,3,12,11], expected [1,3,12,12]"));
  s = (*cm)->run({Tensor(DType::kFloat64, {1, 3, 12, 12})}, out);
  CHECK_THAT(s.message(), Catch::Contains("input 'x' is float64, expected float32"));
  s = (*cm)->run(std::map<std::string, Tensor>{{"X", Tensor(DType::kFloat32, {1, 3, 12, 12})}}, out);
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK_THAT(s.message(), Catch::Contains("'X' is not an input of the model (inputs: 'x')"));
  auto bad = e->compile({Tensor::shape_only(DType::kFloat32, {1, 4, 12, 12})});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("input 'x'"));
}

TEST_CASE("a fixed batch size is enforced and fills symbolic leading dims") {
  Options o;
  o.batch_size = 4;
  auto e = Engine::load_bytes(testing::small_cnn(), ".", o);
  REQUIRE(e.ok());
  auto descs = e->input_descs();
  REQUIRE(descs.ok());
  CHECK((*descs)[0].dims() == Dims{4, 3, 12, 12});
  auto wrong = e->compile({Tensor::shape_only(DType::kFloat32, {2, 3, 12, 12})});
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.status().message(), Catch::Contains("expected batch size 4"));
}

TEST_CASE("shapes that depend on data fall back to the reference executor, with the reason") {
  ModelBuilder b;
  b.input("x", {6});
  b.node("NonZero", "nz", {"x"}, {"i"});
  b.node("Neg", "neg", {"i"}, {"y"});
  b.output("y");
  auto e = Engine::load_bytes(b.bytes());
  REQUIRE(e.ok());
  Tensor x(DType::kFloat32, {6});
  x.data<float>()[1] = 1.0f;
  x.data<float>()[4] = 2.0f;
  auto cm = e->compile({x});
  REQUIRE(cm.ok());
  CHECK((*cm)->plan() == nullptr);
  CHECK_THAT((*cm)->fallback_reason(), Catch::Contains("depends on run-time data"));
  auto y = (*cm)->run({x});
  REQUIRE(y.ok());
  CHECK((*y)[0].dims() == Dims{1, 2});
}

}  // namespace
}  // namespace sparsify::engine
