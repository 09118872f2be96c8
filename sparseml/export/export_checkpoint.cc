// export_checkpoint: a training checkpoint (state.json, recipe.yaml, model.pt) to model.onnx, test data and model.md.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <torch/torch.h>

#include "sparseml/export/export.h"
#include "sparseml/export/export_model.h"
#include "sparseml/models/models.h"
#include "sparseml/recipe/recipe.h"
#include "sparseml/train/checkpoint.h"

namespace sparsify::ml::onnx_export {
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kTokenSeed = 1234;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// state.json's "quantized" (written by write_checkpoint; CheckpointState does not carry it).
StatusOr<bool> checkpoint_quantized(const std::string& dir) {
  const fs::path file = fs::path(dir) / "state.json";
  std::ifstream in(file);
  if (!in) return not_found(file.string(), ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const auto j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(file.string(), ": not valid JSON");
  const auto it = j.find("quantized");
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// The settings the trainer enabled QAT with: the earliest QuantizationModifier of the checkpoint's recipe.
StatusOr<recipe::QuantSettings> quant_settings(const std::string& dir) {
  const std::string file = (fs::path(dir) / "recipe.yaml").string();
  SPARSIFY_ASSIGN_OR_RETURN(recipe::Recipe r, recipe::parse_recipe_file(file));
  const recipe::Modifier* first = nullptr;
  for (const auto& m : r.modifiers) {
    if (m.kind == recipe::ModifierKind::kQuantizationModifier && (first == nullptr || m.start_epoch < first->start_epoch)) {
      first = &m;
    }
  }
  if (first == nullptr) {
    return invalid_argument(file, ": state.json says the model was quantized but the recipe has no QuantizationModifier");
  }
  return first->quant;
}

// OUT/export/model.onnx for OUT/checkpoints/epoch-N; <dir>/export/model.onnx for a loose checkpoint dir.
std::string default_output(const std::string& checkpoint_dir) {
  const fs::path dir = fs::absolute(checkpoint_dir).lexically_normal();
  const fs::path parent = dir.parent_path();
  const fs::path run_dir = parent.filename() == "checkpoints" ? parent.parent_path() : dir;
  return (run_dir / "export" / "model.onnx").string();
}

std::string description_of(const std::string& arch) {
  for (const auto& row : models::model_table()) {
    if (row.name == arch) return row.description;
  }
  return "";
}

StatusOr<ExportResult> export_checkpoint_impl(const ExportOptions& o) {
  if (o.opset < kMinOpset || o.opset > kMaxOpset) {
    return invalid_argument("--opset ", o.opset, " is not supported; the exporter writes opsets ", kMinOpset, "..", kMaxOpset);
  }
  if (o.batch_size < 0) return invalid_argument("--batch-size ", o.batch_size, " is negative");
  if (o.batch_size == 0 && o.samples < 1) return invalid_argument("samples is ", o.samples, ", expected >= 1");
  SPARSIFY_ASSIGN_OR_RETURN(const std::string dir, resolve_checkpoint_dir(o.checkpoint));
  SPARSIFY_ASSIGN_OR_RETURN(const CheckpointState state, read_checkpoint_state(dir));
  SPARSIFY_ASSIGN_OR_RETURN(const bool quantized, checkpoint_quantized(dir));
  const bool want_qat = o.format != Format::kFp32;
  if (want_qat && !quantized) {
    return invalid_argument(dir, ": the checkpoint was not trained with quantization-aware training (state.json "
                            "\"quantized\": false); --format ", format_name(o.format),
                            " needs a QAT checkpoint (a recipe with a QuantizationModifier that has started), or "
                            "use --format fp32");
  }

  models::ModelConfig cfg;
  cfg.arch = state.model.arch;
  cfg.num_classes = state.model.num_classes;
  cfg.in_channels = state.model.in_channels;
  cfg.image_size = state.model.image_size;
  SPARSIFY_ASSIGN_OR_RETURN(std::shared_ptr<models::Model> model, models::create_model(cfg));
  if (want_qat) {
    SPARSIFY_ASSIGN_OR_RETURN(const recipe::QuantSettings settings, quant_settings(dir));
    SPARSIFY_RETURN_IF_ERROR(model->qat().enable(settings));
  }
  // A QAT checkpoint exported as fp32 loads into a plain model: its observer buffers are not read.
  SPARSIFY_RETURN_IF_ERROR(load_model_weights(dir, *model));
  model->eval();
  if (want_qat) {
    model->qat().disable_observers();
    model->qat().freeze_bn_stats();
  }

  const std::int64_t n = o.batch_size > 0 ? o.batch_size : o.samples;
  torch::Tensor sample;
  std::string dataset;
  if (model->input_dtype() == torch::kLong) {
    const auto shape = model->input_shape(1);
    sample = random_token_ids(n, shape[1], cfg.vocab_size, kTokenSeed);
  } else {
    std::string data_dir = o.data_dir;
    std::error_code ec;
    if (data_dir.empty() && !state.data_dir.empty() && fs::is_directory(state.data_dir, ec)) data_dir = state.data_dir;
    SPARSIFY_ASSIGN_OR_RETURN(sample, mnist_samples(data_dir, n, cfg.in_channels, cfg.image_size));
    dataset = "mnist";
  }

  ModelExportOptions mo;
  mo.output = o.output.empty() ? default_output(dir) : o.output;
  mo.build.format = o.format;
  mo.build.opset = o.opset;
  mo.build.batch_size = o.batch_size;
  mo.sample_input = sample;
  mo.card.description = description_of(cfg.arch);
  mo.card.dataset = dataset;
  mo.card.checkpoint = dir;
  mo.card.recipe_source = state.recipe_source;
  mo.card.metrics_json = state.metrics;
  return export_model(*model, mo);
}

}  // namespace

const char* format_name(Format format) {
  switch (format) {
    case Format::kFp32: return "fp32";
    case Format::kQdq: return "qdq";
    case Format::kInt8: return "int8";
  }
  return "?";
}

StatusOr<Format> parse_format(const std::string& name) {
  for (Format f : {Format::kFp32, Format::kQdq, Format::kInt8}) {
    if (name == format_name(f)) return f;
  }
  return invalid_argument("unknown export format '", name, "'; valid: fp32, qdq, int8");
}

StatusOr<ExportResult> export_checkpoint(const ExportOptions& options) {
  try {
    return export_checkpoint_impl(options);
  } catch (const c10::Error& e) {
    return invalid_argument("export of ", options.checkpoint, ": ", first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return internal_error("export of ", options.checkpoint, ": ", first_line(e.what()));
  }
}

}  // namespace sparsify::ml::onnx_export
