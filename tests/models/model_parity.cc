// Real-model parity: runs <dir>/model.onnx in the engine on test_data_set_0/input_K.pb and compares
// with output_K.pb (written by ONNX Runtime, see ort_run.js) to a relative tolerance:
// max |got - want| <= rtol * max(|want|, 1) per output.
//
// usage: model_parity MODEL_DIR... [--rtol 1e-4] [--threads N] [--no-optimize]
// Exit 0 when every model agrees, 1 on a mismatch, 3 on an engine error.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/graph/tensor_proto.h"
#include "engine/runtime/plan.h"

namespace fs = std::filesystem;
using namespace sparsify;
using namespace sparsify::engine;

namespace {

std::vector<Tensor> read_all(const fs::path& dir, const char* prefix) {
  std::vector<Tensor> out;
  for (int k = 0;; ++k) {
    const fs::path p = dir / (std::string(prefix) + "_" + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    auto t = read_tensor_file(p.string());
    if (!t.ok()) {
      std::fprintf(stderr, "model_parity: %s\n", t.status().to_string().c_str());
      std::exit(3);
    }
    out.push_back(*t);
  }
  return out;
}

int check(const fs::path& dir, double rtol, const Options& options) {
  auto engine = Engine::load_file((dir / "model.onnx").string(), options);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), engine.status().to_string().c_str());
    return 3;
  }
  const fs::path data = dir / "test_data_set_0";
  const std::vector<Tensor> inputs = read_all(data, "input");
  const std::vector<Tensor> expected = read_all(data, "output");
  const auto t0 = std::chrono::steady_clock::now();
  auto cm = engine->compile(inputs);
  if (!cm.ok()) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), cm.status().to_string().c_str());
    return 3;
  }
  const auto t1 = std::chrono::steady_clock::now();
  auto outs = (*cm)->run(inputs);
  const auto t2 = std::chrono::steady_clock::now();
  if (!outs.ok()) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), outs.status().to_string().c_str());
    return 3;
  }
  const ExecutionPlan* plan = (*cm)->plan();
  std::printf("%s: compile %.0f ms, run %.0f ms, %zu steps (%zu reference)\n", dir.filename().c_str(),
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(), plan ? plan->steps().size() : 0,
              plan ? plan->reference_steps() : 0);
  int rc = 0;
  if (outs->size() != expected.size()) {
    std::fprintf(stderr, "%s: %zu outputs, ONNX Runtime gave %zu\n", dir.c_str(), outs->size(), expected.size());
    return 1;
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Tensor& got = (*outs)[i];
    const Tensor& want = expected[i];
    if (got.dims() != want.dims()) {
      std::fprintf(stderr, "  output %zu: shape %s, expected %s\n", i, dims_to_string(got.dims()).c_str(), dims_to_string(want.dims()).c_str());
      rc = 1;
      continue;
    }
    double max_diff = 0, max_ref = 0;
    for (std::int64_t k = 0; k < want.numel(); ++k) {
      max_diff = std::max(max_diff, std::abs(got.element_as_double(k) - want.element_as_double(k)));
      max_ref = std::max(max_ref, std::abs(want.element_as_double(k)));
    }
    const double rel = max_diff / std::max(max_ref, 1.0);
    const bool ok = rel <= rtol && std::isfinite(max_diff);
    std::printf("  output %zu '%s' %s: max|diff| %.3g, max|ref| %.3g, relative %.3g %s\n", i,
                (*cm)->outputs()[i].name.c_str(), got.describe().c_str(), max_diff, max_ref, rel, ok ? "ok" : "MISMATCH");
    if (!ok) rc = 1;
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  double rtol = 1e-4;
  Options options;
  std::vector<fs::path> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rtol" && i + 1 < argc) rtol = std::atof(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) options.threads = std::atoi(argv[++i]);
    else if (a == "--no-optimize") options.optimize = false;
    else dirs.emplace_back(a);
  }
  if (dirs.empty()) {
    std::fprintf(stderr, "usage: model_parity MODEL_DIR... [--rtol 1e-4] [--threads N] [--no-optimize]\n");
    return 2;
  }
  int rc = 0;
  for (const fs::path& d : dirs) rc = std::max(rc, check(d, rtol, options));
  return rc;
}
