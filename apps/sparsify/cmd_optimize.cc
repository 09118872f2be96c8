// `sparsify optimize MODEL.onnx -o OUT.onnx`: one-shot magnitude pruning (unstructured or block4)
// and optional post-training static int8 quantization to QDQ, with calibration in the engine.
// Prints a per-layer table; writes atomically; checks the result (ONNX checker, engine load + run).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "apps/sparsify/cli.h"
#include "engine/engine.h"
#include "engine/runtime/plan.h"
#include "engine/tools/calibrate.h"
#include "engine/tools/model_io.h"
#include "engine/tools/prune_onnx.h"
#include "engine/tools/quantize_onnx.h"

namespace sparsify::cli {
namespace {

namespace fs = std::filesystem;
using namespace sparsify::tools;

struct OptimizeOptions {
  std::string model, output;
  double sparsity = 0;
  std::string mask_type = "unstructured";
  std::string quantize;
  std::string calibration_dir;
  std::string calibration;  // "random"
  int calibration_samples = 16;
  int threads = 0;
  unsigned seed = 1;
  bool no_check = false, no_verify = false;
};

std::string hint_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kIoError: return "check that the input exists and the output directory is writable";
    case StatusCode::kUnsupported: return "see `sparsify optimize --help` for the supported values";
    case StatusCode::kNotFound: return "--calibration-dir holds input_K.pb files or test_data_set_N/ directories of them";
    case StatusCode::kInvalidArgument: return "see `sparsify optimize --help`";
    default: return "";
  }
}

int fail(const Status& s) { return report_error(s, hint_for(s)); }

std::string dims_str(const engine::Dims& d) { return engine::dims_to_string(d); }

void print_table(const std::vector<LayerReport>& rows) {
  std::size_t wn = 5, ws = 5;
  for (const LayerReport& r : rows) {
    wn = std::max(wn, std::min<std::size_t>(r.node.size(), 48));
    ws = std::max(ws, dims_str(r.shape).size());
  }
  std::printf("%-*s %-7s %-*s %8s  %-17s %s\n", static_cast<int>(wn), "layer", "op", static_cast<int>(ws), "shape", "sparsity",
              "quantized", "note");
  for (const LayerReport& r : rows) {
    std::string node = r.node.size() > 48 ? "..." + r.node.substr(r.node.size() - 45) : r.node;
    std::printf("%-*s %-7s %-*s %7.2f%%  %-17s %s\n", static_cast<int>(wn), node.c_str(), r.op.c_str(), static_cast<int>(ws),
                dims_str(r.shape).c_str(), 100 * r.sparsity, r.quantized.empty() ? "no" : r.quantized.c_str(), r.note.c_str());
  }
}

// Loads the written model in the engine, compiles it for random batch-1 inputs and runs it once.
Status verify(const std::string& path, int threads, std::string* summary) {
  engine::Options o;
  o.threads = threads;
  SPARSIFY_ASSIGN_OR_RETURN(engine::Engine e, engine::Engine::load_file(path, o));
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Sample> in, random_samples(e, 1, 0, 3));
  SPARSIFY_ASSIGN_OR_RETURN(engine::CompiledModel * cm, e.compile(in[0]));
  std::vector<engine::Tensor> out = cm->make_outputs();
  SPARSIFY_RETURN_IF_ERROR(cm->run(in[0], out));
  std::map<std::string, int> ops;
  if (cm->plan() != nullptr) {
    for (const auto& step : cm->plan()->steps()) ++ops[cm->plan()->graph().nodes[step.node].op_type];
    *summary = str_cat(cm->plan()->steps().size(), " plan steps");
    // fuse_qmatmul_dequant turns QLinearMatMul -> DequantizeLinear into one QLinearMatMulDequantize.
    const int qmatmul = ops["QLinearMatMul"] + ops["QLinearMatMulDequantize"];
    if (ops["QLinearConv"] + qmatmul > 0) {
      *summary += str_cat(", ", ops["QLinearConv"], " QLinearConv + ", qmatmul, " QLinearMatMul after QDQ folding");
      if (ops["QLinearMatMulDequantize"] > 0) *summary += str_cat(" (", ops["QLinearMatMulDequantize"], " with the DequantizeLinear fused)");
    }
  } else {
    *summary = "reference fallback: " + cm->fallback_reason();
  }
  return Status();
}

int optimize(const OptimizeOptions& o) {
  if (!(o.sparsity >= 0 && o.sparsity <= 1)) return fail(invalid_argument("--sparsity ", o.sparsity, " is not in [0, 1]"));
  StatusOr<MaskType> mask = parse_mask_type(o.mask_type);
  if (!mask.ok()) return fail(mask.status().with_prefix("--mask-type"));
  if (!o.quantize.empty() && o.quantize != "int8") {
    return fail(unsupported("--quantize '", o.quantize, "' is not supported; valid: int8"));
  }
  const bool quantize = !o.quantize.empty();
  if (!o.calibration.empty() && o.calibration != "random") {
    return fail(unsupported("--calibration '", o.calibration, "' is not supported; valid: random (or --calibration-dir DIR)"));
  }
  if (quantize && o.calibration.empty() && o.calibration_dir.empty()) {
    return fail(invalid_argument("--quantize int8 needs calibration inputs: --calibration-dir DIR or --calibration random"));
  }
  if (!o.calibration.empty() && !o.calibration_dir.empty()) {
    return fail(invalid_argument("--calibration random and --calibration-dir exclude each other"));
  }
  if (!quantize && (!o.calibration.empty() || !o.calibration_dir.empty())) {
    return fail(invalid_argument("calibration options need --quantize int8"));
  }
  if (o.calibration_samples < 1) return fail(invalid_argument("--calibration-samples must be >= 1, got ", o.calibration_samples));
  const fs::path out_dir = fs::absolute(o.output).parent_path();
  if (!fs::is_directory(out_dir)) return fail(io_error("output directory '", out_dir.string(), "' does not exist"));

  StatusOr<onnx::ModelProto> model = read_model(o.model);
  if (!model.ok()) return fail(model.status());
  StatusOr<std::vector<LayerReport>> layers = prune_model(*model, {o.sparsity, *mask});
  if (!layers.ok()) return fail(layers.status());

  if (quantize) {
    StatusOr<int> gemms = gemm_to_matmul(*model);
    if (!gemms.ok()) return fail(gemms.status());
    StatusOr<std::vector<std::string>> tensors = calibration_tensors(*model);
    if (!tensors.ok()) return fail(tensors.status());
    std::string bytes;
    if (!model->SerializeToString(&bytes)) return fail(internal_error("cannot serialize the pruned model"));
    engine::Options eo;
    eo.threads = o.threads;
    StatusOr<engine::Engine> fe = engine::Engine::load_bytes(bytes, fs::path(o.model).parent_path().string(), eo);
    if (!fe.ok()) return fail(fe.status().with_prefix(o.model));
    StatusOr<std::vector<Sample>> samples = o.calibration_dir.empty()
                                                ? random_samples(*fe, o.calibration_samples, 0, o.seed)
                                                : read_calibration_dir(o.calibration_dir, fe->input_names());
    if (!samples.ok()) return fail(samples.status());
    std::printf("calibrating %zu tensors on %zu %s sample%s...\n", tensors->size(), samples->size(),
                o.calibration_dir.empty() ? "random" : "file", samples->size() == 1 ? "" : "s");
    std::fflush(stdout);
    StatusOr<std::map<std::string, Range>> ranges = collect_ranges(*model, *tensors, *samples, o.threads);
    if (!ranges.ok()) return fail(ranges.status().with_prefix("calibration"));
    StatusOr<std::vector<QuantReport>> q = quantize_model(*model, *ranges);
    if (!q.ok()) return fail(q.status());
    std::map<std::string, std::string> by_node;
    for (const QuantReport& r : *q) by_node[r.node] = r.kind;
    for (LayerReport& l : *layers) {
      if (auto it = by_node.find(l.node); it != by_node.end()) l.quantized = it->second;
    }
  }
  if (!o.no_check) {
    Status s = check_model(*model);
    if (!s.ok()) return fail(internal_error("the optimized model fails the ONNX checker: ", s.message()));
  }
  Status w = write_model_atomic(*model, o.output);
  if (!w.ok()) return fail(w);

  print_table(*layers);
  std::int64_t params = 0, zeros = 0;
  int pruned = 0, quantized = 0;
  for (const LayerReport& l : *layers) {
    const std::int64_t n = engine::dims_numel(l.shape);
    params += n;
    zeros += std::llround(l.sparsity * static_cast<double>(n));
    pruned += l.pruned ? 1 : 0;
    quantized += l.quantized.empty() ? 0 : 1;
  }
  std::printf("pruned %d of %zu weight tensors (%s, target %.1f%%): %.2f%% of %lld weights are zero; quantized %d\n", pruned,
              layers->size(), mask_type_name(*mask), 100 * o.sparsity,
              params > 0 ? 100.0 * static_cast<double>(zeros) / static_cast<double>(params) : 0.0, static_cast<long long>(params),
              quantized);
  std::printf("wrote %s (%.1f MB)\n", o.output.c_str(), static_cast<double>(fs::file_size(o.output)) / 1e6);
  if (!o.no_verify) {
    std::string summary;
    Status v = verify(o.output, o.threads, &summary);
    if (!v.ok()) return fail(internal_error("the engine cannot run the optimized model: ", v.message()));
    std::printf("verified: the engine loads and runs it (%s)\n", summary.c_str());
  }
  return kExitOk;
}

}  // namespace

void add_optimize_command(CLI::App& app, CommandRunner* run) {
  auto o = std::make_shared<OptimizeOptions>();
  CLI::App* cmd = app.add_subcommand("optimize", "Prune (magnitude, one shot) and quantize (int8 QDQ) an ONNX model");
  cmd->add_option("model", o->model, "ONNX model file (float32)")->required();
  cmd->add_option("-o,--output", o->output, "where to write the optimized model")->required();
  cmd->add_option("--sparsity", o->sparsity, "fraction of each Conv/Gemm/MatMul weight to zero, in [0, 1] (default 0)");
  cmd->add_option("--mask-type", o->mask_type, "pruning structure: " + mask_type_list());
  cmd->add_option("--quantize", o->quantize, "int8: post-training static quantization to QDQ (needs calibration)");
  cmd->add_option("--calibration-dir", o->calibration_dir, "calibration inputs: input_K.pb files or test_data_set_N/ dirs");
  cmd->add_option("--calibration", o->calibration, "random: calibrate on N(0,1) random inputs");
  cmd->add_option("--calibration-samples", o->calibration_samples, "random calibration samples (default 16)");
  cmd->add_option("--threads", o->threads, "engine threads for calibration and the check run (0: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--seed", o->seed, "seed for random calibration");
  cmd->add_flag("--no-check", o->no_check, "skip onnx::checker::check_model on the result");
  cmd->add_flag("--no-verify", o->no_verify, "skip loading and running the result in the engine");
  cmd->callback([o, run] { *run = [o] { return optimize(*o); }; });
}

}  // namespace sparsify::cli
