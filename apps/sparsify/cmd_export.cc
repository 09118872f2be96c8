// `sparsify export`: a training checkpoint to ONNX (fp32, qdq or int8) with test data and a model card.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "apps/sparsify/cli.h"
#include "sparseml/export/export.h"

namespace sparsify::cli {
namespace {

namespace ox = ml::onnx_export;

struct ExportArgs {
  ox::ExportOptions options;
  std::string format = "fp32";
  std::string batch = "dynamic";
};

int run_export(ExportArgs a) {
  StatusOr<ox::Format> format = ox::parse_format(a.format);
  if (!format.ok()) return report_error(format.status(), "--format takes fp32, qdq or int8");
  a.options.format = *format;
  if (a.batch != "dynamic") {
    try {
      std::size_t used = 0;
      a.options.batch_size = std::stoll(a.batch, &used);
      if (used != a.batch.size() || a.options.batch_size < 1) throw std::invalid_argument(a.batch);
    } catch (const std::exception&) {
      return report_error(invalid_argument("--batch-size '", a.batch, "' is neither 'dynamic' nor a positive integer"));
    }
  }
  StatusOr<ox::ExportResult> r = ox::export_checkpoint(a.options);
  if (!r.ok()) {
    return report_error(r.status(), "see `sparsify export --help`; qdq and int8 need a checkpoint trained with a "
                                    "QuantizationModifier");
  }
  std::string ops;
  for (const auto& op : r->op_types) ops += (ops.empty() ? "" : " ") + op;
  std::printf("exported %s (%s, opset %d, batch %s): %lld nodes, %lld initializers, %.1f MB\n", r->model_path.c_str(),
              ox::format_name(r->format), r->opset,
              r->batch_size > 0 ? std::to_string(r->batch_size).c_str() : "dynamic", static_cast<long long>(r->nodes),
              static_cast<long long>(r->initializers), static_cast<double>(r->file_bytes) / 1e6);
  std::printf("ops: %s\n", ops.c_str());
  std::printf("test data: %s\nmodel card: %s\n", r->test_data_dir.c_str(), r->model_card_path.c_str());
  return kExitOk;
}

}  // namespace

void add_export_command(CLI::App& app, CommandRunner* run) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Export a checkpoint to ONNX (fp32, qdq or int8) with test data and a model card");
  cmd->add_option("--checkpoint", a->options.checkpoint,
                  "Training output dir, its checkpoints dir, or a checkpoints/epoch-N dir")
      ->required();
  cmd->add_option("--output,-o", a->options.output, "Model file (default: <run dir>/export/model.onnx)");
  cmd->add_option("--format", a->format,
                  "fp32 (BatchNorm folded), qdq (Quantize/DequantizeLinear from the QAT observers) or int8 "
                  "(QLinearConv, MatMulInteger)")
      ->capture_default_str();
  cmd->add_option("--opset", a->options.opset, "ONNX opset")
      ->capture_default_str()
      ->check(CLI::Range(ox::kMinOpset, ox::kMaxOpset));
  cmd->add_option("--batch-size", a->batch, "'dynamic' (dim_param \"batch\") or a fixed batch size")
      ->capture_default_str();
  cmd->add_option("--samples", a->options.samples, "Inputs in test_data_set_0 when the batch is dynamic")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--data-dir", a->options.data_dir, "MNIST-format data for the test samples (default: the checkpoint's)");
  cmd->callback([a, run]() { *run = [a]() { return run_export(*a); }; });
}

}  // namespace sparsify::cli
