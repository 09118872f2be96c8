// libFuzzer target for the model loader and compiler: arbitrary bytes go through ONNX import,
// shape inference, the passes and plan building; small models are also run once. Any crash,
// sanitizer report or abort is a bug: bad models must come back as a Status.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/engine.h"
#include "engine/graph/shape_inference.h"

using namespace sparsify::engine;

namespace {

// Keeps the fuzzer away from legitimately huge models (each would be an out-of-memory report).
constexpr double kMaxValueBytes = 64.0 * (1 << 20);

bool small_enough(const Graph& g, const std::vector<Tensor>& descs) {
  auto inferred = infer_shapes(g, descs);
  if (!inferred.ok()) return true;  // compile reports the same error cheaply
  double total = 0;
  for (const Tensor& t : inferred->values) total += static_cast<double>(t.nbytes());
  return total <= kMaxValueBytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto engine = Engine::load_bytes(std::string_view(reinterpret_cast<const char*>(data), size), "/nonexistent");
  if (!engine.ok()) return 0;
  auto descs = engine->input_descs(1);
  if (!descs.ok()) return 0;
  for (const Tensor& d : *descs) {
    if (d.numel() > (1 << 16)) return 0;
  }
  if (!small_enough(engine->graph(), *descs)) return 0;
  auto compiled = engine->compile(*descs);
  if (!compiled.ok()) return 0;
  std::vector<Tensor> inputs;
  for (const Tensor& d : *descs) inputs.emplace_back(d.dtype(), d.dims());
  (void)(*compiled)->run(inputs);
  (void)(*compiled)->dump_plan();
  return 0;
}
