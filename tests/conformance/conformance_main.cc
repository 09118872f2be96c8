// Runs ONNX's backend node tests through the engine: each case passes, is rejected as unsupported
// when it is loaded or compiled, or fails (wrong values, wrong shape, any other error).
//
// usage: engine_conformance [node_test_dir] [-v] [-k substring] [--list-ops]
// The directory defaults to $SPARSIFY_ONNX_NODE_TESTS, then /usr/share/libonnx-testdata/data/node.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/graph/tensor_proto.h"
#include "engine/ops/op_kernel.h"

namespace fs = std::filesystem;
using namespace sparsify;
using namespace sparsify::engine;

namespace {

constexpr double kRtol = 1e-3;  // as in onnx/backend/test/runner
constexpr double kAtol = 1e-5;

enum class Outcome { kPass, kUnsupported, kFail };

struct CaseResult {
  Outcome outcome = Outcome::kPass;
  std::string detail;  // failure message, or the unsupported op and reason
};

// Reads <dir>/<prefix>_0.pb, _1.pb, ... until one is missing.
Status read_tensors(const fs::path& dir, const std::string& prefix, std::vector<Tensor>* out) {
  for (int k = 0;; ++k) {
    const fs::path p = dir / (prefix + "_" + std::to_string(k) + ".pb");
    if (!fs::exists(p)) return Status();
    SPARSIFY_ASSIGN_OR_RETURN(Tensor t, read_tensor_file(p.string()));
    out->push_back(std::move(t));
  }
}

std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype()) return str_cat("dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  if (got.dims() != want.dims()) {
    return str_cat("shape ", dims_to_string(got.dims()), ", expected ", dims_to_string(want.dims()));
  }
  const bool is_float = dtype_is_float(want.dtype());
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.element_as_double(i);
    const double w = want.element_as_double(i);
    bool ok;
    if (!is_float) ok = got.element_as_int(i) == want.element_as_int(i);
    else if (std::isnan(w)) ok = std::isnan(g);
    else if (std::isinf(w)) ok = g == w;
    else ok = std::abs(g - w) <= kAtol + kRtol * std::abs(w);
    if (!ok) {
      return str_cat("element ", i, " is ", g, ", expected ", w, " (", want.describe(), ")");
    }
  }
  return "";
}

// Quirk of ONNX 1.12's test data: bfloat16 tensors are stored with data_type UINT16. Where the
// model declares bfloat16, relabel the bits (they are bfloat16 bits already).
void fix_bfloat16_test_data(const Engine& engine, std::vector<Tensor>& inputs, std::vector<Tensor>& expected) {
  const Graph& g = engine.graph();
  auto relabel = [](Tensor& t) {
    Tensor b(DType::kBFloat16, t.dims());
    std::memcpy(b.raw_data(), t.raw_data(), t.nbytes());
    t = b;
  };
  for (std::size_t i = 0; i < inputs.size() && i < g.inputs.size(); ++i) {
    if (inputs[i].dtype() == DType::kUInt16 && g.values[g.inputs[i]].dtype == DType::kBFloat16) relabel(inputs[i]);
  }
  for (std::size_t i = 0; i < expected.size() && i < g.outputs.size(); ++i) {
    if (expected[i].dtype() == DType::kUInt16 && g.values[g.outputs[i]].dtype == DType::kBFloat16) relabel(expected[i]);
  }
}

CaseResult classify_error(const Status& s) {
  if (s.code() == StatusCode::kUnsupported) return {Outcome::kUnsupported, s.message()};
  return {Outcome::kFail, s.to_string()};
}

CaseResult run_case(const fs::path& dir) {
  auto engine_or = Engine::load_file((dir / "model.onnx").string());
  if (!engine_or.ok()) return classify_error(engine_or.status());
  Engine& engine = *engine_or;
  engine.set_check_declared_shapes(false);  // some test data contradicts the declared input shapes
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  }
  std::sort(sets.begin(), sets.end());
  for (const fs::path& set : sets) {
    std::vector<Tensor> inputs, expected;
    Status s = read_tensors(set, "input", &inputs);
    if (s.ok()) s = read_tensors(set, "output", &expected);
    if (!s.ok()) {
      // String and complex tensors are rejected as unsupported element types.
      return classify_error(s);
    }
    if (inputs.size() != engine.input_names().size()) {
      return {Outcome::kFail, str_cat(set.filename().string(), ": ", inputs.size(), " inputs given, model has ",
                                      engine.input_names().size())};
    }
    fix_bfloat16_test_data(engine, inputs, expected);
    auto ex = engine.compile(inputs);
    if (!ex.ok()) return classify_error(ex.status());
    auto outs = (*ex)->run(inputs);
    if (!outs.ok()) return {Outcome::kFail, set.filename().string() + ": " + outs.status().to_string()};
    if (outs->size() != expected.size()) {
      return {Outcome::kFail, str_cat(set.filename().string(), ": ", outs->size(), " outputs, expected ", expected.size())};
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const std::string diff = compare((*outs)[i], expected[i]);
      if (!diff.empty()) {
        return {Outcome::kFail, str_cat(set.filename().string(), ": output ", i, " ('", engine.output_names()[i],
                                        "'): ", diff)};
      }
    }
  }
  return {Outcome::kPass, ""};
}

// A short grouping key for an unsupported message: the operator, or the op and the rejected mode,
// or the kind of value the engine does not take.
std::string unsupported_key(std::string msg) {
  const auto model = msg.find("model.onnx: ");
  if (model != std::string::npos) msg = msg.substr(model + 12);
  auto pos = msg.find("operator ");
  if (pos != std::string::npos) {
    const auto end = msg.find(' ', pos + 9);
    return msg.substr(pos + 9, end - pos - 9);
  }
  if (msg.find("element type string") != std::string::npos) return "(string tensors)";
  if (msg.find("only tensor values") != std::string::npos) return "(sequence/map/optional values)";
  std::string op;
  if (msg.rfind("node '", 0) == 0) {  // "node 'n' (Op): reason"
    const auto open = msg.find("' (");
    const auto close = msg.find("): ", open);
    if (open != std::string::npos && close != std::string::npos) {
      op = msg.substr(open + 3, close - open - 3);
      msg = msg.substr(close + 3);
    }
  } else if (msg.find(" '") == msg.find(' ') && msg.find("': ") != std::string::npos) {  // "Op 'n': reason"
    op = msg.substr(0, msg.find(' '));
    msg = msg.substr(msg.find("': ") + 3);
  }
  if (msg.size() > 60) msg = msg.substr(0, 57) + "...";
  return op.empty() ? msg : op + ": " + msg;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root;
  std::string filter;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-v") {
      verbose = true;
    } else if (a == "--list-ops") {
      for (const OpInfo& op : all_ops()) std::printf("%-28s opsets %d..%d\n", op.name, op.min_opset, op.max_opset);
      return 0;
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: engine_conformance [node_test_dir] [-v] [-k substring] [--list-ops]\n");
      return 0;
    } else if (a == "-k" && i + 1 < argc) {
      filter = argv[++i];
    } else {
      root = a;
    }
  }
  if (root.empty()) {
    const char* env = std::getenv("SPARSIFY_ONNX_NODE_TESTS");
    root = env ? env : "/usr/share/libonnx-testdata/data/node";
  }
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    std::fprintf(stderr, "engine_conformance: '%s' is not a directory; skipped\n", root.c_str());
    return 77;  // ctest SKIP_RETURN_CODE: the ONNX test data (libonnx-testdata) is not installed
  }
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory() && e.path().filename().string().find(filter) != std::string::npos) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  int passed = 0, unsupported_n = 0, failed = 0;
  std::vector<std::pair<std::string, std::string>> failures;
  std::map<std::string, std::pair<int, std::string>> unsupported_ops;
  const auto t0 = std::chrono::steady_clock::now();
  for (const fs::path& c : cases) {
    const CaseResult r = run_case(c);
    const std::string name = c.filename().string();
    switch (r.outcome) {
      case Outcome::kPass: ++passed; break;
      case Outcome::kUnsupported: {
        ++unsupported_n;
        auto& slot = unsupported_ops[unsupported_key(r.detail)];
        if (slot.first++ == 0) slot.second = r.detail;
        if (verbose) std::printf("unsupported %s: %s\n", name.c_str(), r.detail.c_str());
        break;
      }
      case Outcome::kFail: ++failed; failures.emplace_back(name, r.detail); break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::pair<int, std::string>> by_count;
  for (const auto& [op, v] : unsupported_ops) by_count.emplace_back(v.first, op);
  std::sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::printf("unsupported (%d cases):\n", unsupported_n);
  for (const auto& [n, op] : by_count) {
    std::printf("  %4d  %s%s%s\n", n, op.c_str(), verbose ? "  e.g. " : "", verbose ? unsupported_ops[op].second.c_str() : "");
  }
  std::printf("failures (%d):\n", failed);
  for (const auto& [name, detail] : failures) std::printf("  FAIL %s: %s\n", name.c_str(), detail.c_str());
  std::printf("conformance: %d passed, %d unsupported, %d failed of %zu (%.1f s)\n", passed, unsupported_n, failed,
              cases.size(), secs);
  return failed > 0 ? 1 : 0;
}
