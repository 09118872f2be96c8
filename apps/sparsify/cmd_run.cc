// `sparsify run MODEL.onnx`: compile a model, run it on test data or random inputs, print the
// outputs (top-5 for [batch, classes]), timing, the difference from expected outputs, and the plan.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "apps/sparsify/cli.h"
#include "engine/engine.h"
#include "engine/graph/tensor_proto.h"
#include "zoo_client/zoo.h"

namespace sparsify::cli {
namespace {

namespace fs = std::filesystem;
using namespace sparsify::engine;

struct RunOptions {
  std::string model;
  std::string input_dir;
  bool random = false;
  std::int64_t batch_size = 0;
  int threads = 1;
  int iterations = 1;
  int warmup = 1;
  bool dump_plan = false;
  int profile = 0;
  bool no_optimize = false;
  std::string isa;
  unsigned seed = 1;
};

// One hint per failure kind, so every error line is followed by something to do.
std::string hint_for(const Status& s, const RunOptions& o) {
  const std::string& m = s.message();
  switch (s.code()) {
    case StatusCode::kIoError: return "check that the path exists and is readable";
    case StatusCode::kUnsupported:
      return "the operators the engine implements are listed in engine/ops/ops.def; re-export with a supported "
             "opset (7-17) or replace the node";
    case StatusCode::kNotFound:
      return "input names are the model's graph inputs; `sparsify run MODEL --dump-plan` lists them";
    case StatusCode::kInvalidArgument:
      if (m.rfind(o.model, 0) == 0) {  // import errors start with the file name
        return "is it a valid ONNX model? (python3 -c 'import onnx; onnx.checker.check_model(\"" + o.model + "\")')";
      }
      if (!o.input_dir.empty()) return "the input_K.pb files in --input-dir must match the model's inputs (name, element type, shape)";
      return "use --batch-size for a symbolic batch dim, or --input-dir with input_K.pb files for other shapes";
    default: return "";
  }
}

int fail(const Status& s, const RunOptions& o) { return report_error(s, hint_for(s, o)); }

StatusOr<std::vector<Tensor>> read_dir(const fs::path& dir, const char* prefix, std::vector<std::string>* names) {
  std::vector<Tensor> out;
  for (int k = 0;; ++k) {
    const fs::path p = dir / (std::string(prefix) + "_" + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    std::string name;
    SPARSIFY_ASSIGN_OR_RETURN(Tensor t, read_tensor_file(p.string(), &name));
    out.push_back(std::move(t));
    if (names != nullptr) names->push_back(name);
  }
  return out;
}

// Orders the tensors from --input-dir by the model's input names when the files carry names.
StatusOr<std::vector<Tensor>> dir_inputs(const Engine& engine, const RunOptions& o) {
  if (!fs::is_directory(o.input_dir)) return not_found("input directory '", o.input_dir, "' does not exist");
  std::vector<std::string> names;
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Tensor> files, read_dir(o.input_dir, "input", &names));
  const std::vector<std::string> want = engine.input_names();
  if (files.size() != want.size()) {
    return invalid_argument("'", o.input_dir, "' holds ", files.size(), " input_K.pb files, the model has ", want.size(),
                            " inputs");
  }
  const bool named = std::all_of(names.begin(), names.end(), [](const std::string& n) { return !n.empty(); });
  if (!named) return files;
  std::vector<Tensor> ordered;
  for (const std::string& w : want) {
    auto it = std::find(names.begin(), names.end(), w);
    if (it == names.end()) {
      return invalid_argument("input '", w, "' has no file in '", o.input_dir, "' (files name: ", str_cat(names.front()),
                              names.size() > 1 ? ", ..." : "", ")");
    }
    ordered.push_back(files[static_cast<std::size_t>(it - names.begin())]);
  }
  return ordered;
}

// Uniform [0, 1) floats; integers and bools in {0, 1} so that index inputs stay in range.
std::vector<Tensor> random_inputs(const std::vector<Tensor>& descs, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::vector<Tensor> out;
  for (const Tensor& d : descs) {
    Tensor t(d.dtype(), d.dims());
    (void)dispatch<kTypesAll>(d.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* p = t.data<T>();
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        const double v = dtype_is_float(d.dtype()) ? uni(rng) : static_cast<double>(rng() % 2);
        p[i] = from_double<T>(v);
      }
      return Status();
    });
    out.push_back(std::move(t));
  }
  return out;
}

void print_summary(const TensorInfo& info, const Tensor& t) {
  std::printf("output '%s' %s\n", info.name.c_str(), t.describe().c_str());
  if (t.numel() == 0) return;
  if (dtype_is_float(t.dtype()) && t.rank() == 2 && t.dim(1) >= 2) {
    const std::int64_t rows = std::min<std::int64_t>(t.dim(0), 4), classes = t.dim(1);
    for (std::int64_t r = 0; r < rows; ++r) {
      std::vector<std::int64_t> idx(static_cast<std::size_t>(classes));
      std::iota(idx.begin(), idx.end(), 0);
      const auto k = std::min<std::int64_t>(5, classes);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](std::int64_t a, std::int64_t b) {
        return t.element_as_double(r * classes + a) > t.element_as_double(r * classes + b);
      });
      std::printf("  [%lld] top-%lld:", static_cast<long long>(r), static_cast<long long>(k));
      for (std::int64_t i = 0; i < k; ++i) {
        std::printf(" %lld (%.4g)", static_cast<long long>(idx[i]), t.element_as_double(r * classes + idx[i]));
      }
      std::printf("\n");
    }
    if (t.dim(0) > rows) std::printf("  ... %lld more rows\n", static_cast<long long>(t.dim(0) - rows));
    return;
  }
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const double v = t.element_as_double(i);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  std::printf("  min %.6g, max %.6g, mean %.6g\n", lo, hi, sum / static_cast<double>(t.numel()));
}

int run_model(const RunOptions& o) {
  if (o.iterations < 1) return fail(invalid_argument("--iterations must be >= 1, got ", o.iterations), o);
  if (!o.input_dir.empty() && o.random) return fail(invalid_argument("--input-dir and --random exclude each other"), o);
  Options options;
  options.threads = o.threads;
  options.batch_size = o.batch_size;
  options.optimize = !o.no_optimize;
  if (!o.isa.empty()) {
    StatusOr<Isa> isa = parse_isa(o.isa);
    if (!isa.ok()) return fail(isa.status(), o);
    options.isa_ceiling = *isa;
  }
  std::string model_path = o.model;
  if (zoo::is_stub(model_path)) {  // zoo:... runs the model.onnx of a zoo model (fetched and cached)
    StatusOr<std::string> dir = zoo::fetch_model(model_path);
    if (!dir.ok()) return fail(dir.status(), o);
    model_path = *dir + "/model.onnx";
  }
  StatusOr<Engine> engine = Engine::load_file(model_path, options);
  if (!engine.ok()) return fail(engine.status(), o);
  std::vector<Tensor> inputs;
  if (!o.input_dir.empty()) {
    StatusOr<std::vector<Tensor>> in = dir_inputs(*engine, o);
    if (!in.ok()) return fail(in.status(), o);
    inputs = std::move(in).value();
  } else {
    StatusOr<std::vector<Tensor>> descs = engine->input_descs(o.batch_size);
    if (!descs.ok()) return fail(descs.status(), o);
    inputs = random_inputs(*descs, o.seed);
  }
  const auto c0 = std::chrono::steady_clock::now();
  StatusOr<CompiledModel*> compiled = engine->compile(inputs);
  if (!compiled.ok()) return fail(compiled.status(), o);
  CompiledModel& cm = **compiled;
  const double compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c0).count();
  if (o.dump_plan) std::printf("%s", cm.dump_plan().c_str());
  std::vector<Tensor> outputs = cm.make_outputs();
  if (o.profile > 0 && cm.plan() == nullptr) std::printf("profile: unavailable on the reference fallback\n");
  const int warmup = o.iterations > 1 ? o.warmup : 0;
  std::vector<double> times;
  for (int i = 0; i < warmup + o.iterations; ++i) {
    if (i == warmup && o.profile > 0) cm.set_profiling(true);
    const auto t0 = std::chrono::steady_clock::now();
    Status s = cm.run(inputs, outputs);
    const auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) return fail(s, o);
    if (i >= warmup) times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) print_summary(cm.outputs()[i], outputs[i]);
  if (o.profile > 0 && cm.plan() != nullptr) {
    std::printf("profile (total over %d timed runs, slowest %d steps):\n%s", o.iterations, o.profile,
                cm.profile_report(static_cast<std::size_t>(o.profile)).c_str());
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const double mean = std::accumulate(times.begin(), times.end(), 0.0) / static_cast<double>(times.size());
  std::printf("time: median %.3f ms, mean %.3f ms over %d iteration%s (threads %d, isa %s, compile %.1f ms)\n", median,
              mean, o.iterations, o.iterations == 1 ? "" : "s", engine->options().threads, isa_name(engine->isa()),
              compile_ms);
  if (!o.input_dir.empty()) {
    StatusOr<std::vector<Tensor>> expected = read_dir(o.input_dir, "output", nullptr);
    if (!expected.ok()) return fail(expected.status(), o);
    for (std::size_t i = 0; i < expected->size() && i < outputs.size(); ++i) {
      const Tensor& want = (*expected)[i];
      const Tensor& got = outputs[i];
      if (want.dims() != got.dims()) {
        std::printf("expected output %zu: shape %s, got %s\n", i, dims_to_string(want.dims()).c_str(),
                    dims_to_string(got.dims()).c_str());
        continue;
      }
      double diff = 0, ref = 0;
      for (std::int64_t k = 0; k < want.numel(); ++k) {
        diff = std::max(diff, std::abs(got.element_as_double(k) - want.element_as_double(k)));
        ref = std::max(ref, std::abs(want.element_as_double(k)));
      }
      std::printf("vs expected '%s': max |difference| %.3g (relative to max |expected| %.3g: %.3g)\n",
                  cm.outputs()[i].name.c_str(), diff, ref, diff / std::max(ref, 1e-30));
    }
  }
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, CommandRunner* run) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run an ONNX model: outputs, timing, parity with expected outputs, plan dump");
  cmd->add_option("model", o->model, "ONNX model file")->required();
  cmd->add_option("--input-dir", o->input_dir,
                  "directory with input_K.pb (ONNX TensorProto) files; output_K.pb there are compared");
  cmd->add_flag("--random", o->random, "random inputs from the declared shapes (the default without --input-dir)");
  cmd->add_option("--batch-size", o->batch_size, "fix the batch (leading) dim of the inputs")->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd->add_option("--threads", o->threads, "threads the kernels may use (0: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--iterations", o->iterations, "timed runs (median and mean are printed)");
  cmd->add_option("--warmup", o->warmup, "untimed runs before the timed ones when --iterations > 1");
  cmd->add_flag("--dump-plan", o->dump_plan, "print every step: op, node, kernel, shapes, arena offsets, rejected "
                                             "alternatives, and the pass log");
  cmd->add_option("--profile", o->profile, "time every step and print the N slowest");
  cmd->add_flag("--no-optimize", o->no_optimize, "skip the fusion passes (constant folding still runs)");
  cmd->add_option("--isa", o->isa, "highest ISA the kernels may use: scalar, avx2, avx512, avx512vnni");
  cmd->add_option("--seed", o->seed, "seed for --random");
  cmd->callback([o, run] { *run = [o] { return run_model(*o); }; });
}

}  // namespace sparsify::cli
