// Runs an ONNX model with the sparsify engine's C++ API: load, compile once, run, read outputs.
//   example_run_onnx MODEL.onnx [TEST_DATA_DIR]   (TEST_DATA_DIR holds input_N.pb / output_N.pb)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "engine/engine.h"
#include "engine/graph/tensor_proto.h"

using namespace sparsify;
using namespace sparsify::engine;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [TEST_DATA_DIR]\n", argv[0]);
    return 2;
  }
  // 1. Load: parses and verifies the graph; unsupported operators are reported here.
  Options options;
  options.threads = 2;
  StatusOr<Engine> engine = Engine::load_file(argv[1], options);
  if (!engine.ok()) {
    std::fprintf(stderr, "error: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  // 2. Inputs: from input_N.pb files, or random values of the declared shapes (batch 1).
  std::vector<Tensor> inputs, expected;
  if (argc > 2) {
    for (int i = 0; fs::exists(fs::path(argv[2]) / ("input_" + std::to_string(i) + ".pb")); ++i) {
      auto t = read_tensor_file((fs::path(argv[2]) / ("input_" + std::to_string(i) + ".pb")).string());
      if (!t.ok()) return std::fprintf(stderr, "error: %s\n", t.status().to_string().c_str()), 1;
      inputs.push_back(std::move(t).value());
    }
    for (int i = 0; fs::exists(fs::path(argv[2]) / ("output_" + std::to_string(i) + ".pb")); ++i)
      expected.push_back(read_tensor_file((fs::path(argv[2]) / ("output_" + std::to_string(i) + ".pb")).string()).value());
  } else {
    auto descs = engine->input_descs(/*batch=*/1);
    if (!descs.ok()) return std::fprintf(stderr, "error: %s\n", descs.status().to_string().c_str()), 1;
    std::mt19937 rng(0);
    std::normal_distribution<float> normal;
    for (const Tensor& d : *descs) {
      Tensor t(d.dtype(), d.dims());
      if (d.dtype() == DType::kFloat32)
        for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = normal(rng);
      inputs.push_back(std::move(t));
    }
  }
  // 3. Compile once for these shapes (kernels chosen, weights packed, memory planned), then run.
  StatusOr<CompiledModel*> compiled = engine->compile(inputs);
  if (!compiled.ok()) return std::fprintf(stderr, "error: %s\n", compiled.status().to_string().c_str()), 1;
  std::vector<Tensor> outputs = (*compiled)->make_outputs();
  std::vector<double> ms;
  for (int it = 0; it < 10; ++it) {
    const auto t0 = std::chrono::steady_clock::now();
    if (Status s = (*compiled)->run(inputs, outputs); !s.ok()) return std::fprintf(stderr, "error: %s\n", s.to_string().c_str()), 1;
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  // 4. Outputs: name, shape, and the difference to the expected outputs when given.
  double worst = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const TensorInfo& info = (*compiled)->outputs()[i];
    std::printf("output '%s' [", info.name.c_str());
    for (size_t d = 0; d < outputs[i].dims().size(); ++d) std::printf("%s%lld", d ? ", " : "", static_cast<long long>(outputs[i].dims()[d]));
    std::printf("]\n");
    if (i < expected.size() && outputs[i].dtype() == DType::kFloat32 && outputs[i].numel() == expected[i].numel())
      for (std::int64_t k = 0; k < outputs[i].numel(); ++k)
        worst = std::max(worst, static_cast<double>(std::fabs(outputs[i].data<float>()[k] - expected[i].data<float>()[k])));
  }
  std::printf("median %.3f ms over %zu runs\n", ms[ms.size() / 2], ms.size());
  if (!expected.empty()) {
    std::printf("max |difference| to expected outputs: %.3g\n", worst);
    if (worst > 1e-3) return 1;
  }
  return 0;
}
