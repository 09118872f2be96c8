// Loading checkpoints into fresh models (with a new head) and freezing parameters by pattern.
#include "sparseml/train/transfer.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "sparseml/recipe/lint.h"
#include "sparseml/train/checkpoint.h"

namespace sparsify::ml {
namespace fs = std::filesystem;

StatusOr<std::shared_ptr<models::Model>> load_model(const std::string& checkpoint, std::int64_t num_classes,
                                                    std::vector<std::string>* replaced) {
  try {
    SPARSIFY_ASSIGN_OR_RETURN(std::string dir, resolve_checkpoint_dir(checkpoint));
    SPARSIFY_ASSIGN_OR_RETURN(CheckpointState state, read_checkpoint_state(dir));
    models::ModelConfig cfg;
    cfg.arch = state.model.arch;
    cfg.num_classes = state.model.num_classes;
    cfg.in_channels = state.model.in_channels;
    cfg.image_size = state.model.image_size;
    SPARSIFY_ASSIGN_OR_RETURN(std::shared_ptr<models::Model> source, models::create_model(cfg));
    // A QAT checkpoint holds observer buffers: create them so the archive loads.
    std::ifstream state_file(fs::path(dir) / "state.json");
    const std::string text((std::istreambuf_iterator<char>(state_file)), std::istreambuf_iterator<char>());
    if (text.find("\"quantized\": true") != std::string::npos) {
      SPARSIFY_ASSIGN_OR_RETURN(recipe::Recipe r, recipe::parse_recipe_file((fs::path(dir) / "recipe.yaml").string()));
      for (const auto& m : r.modifiers)
        if (m.kind == recipe::ModifierKind::kQuantizationModifier) {
          SPARSIFY_RETURN_IF_ERROR(source->qat().enable(m.quant));
          break;
        }
    }
    SPARSIFY_RETURN_IF_ERROR(load_model_weights(dir, *source));

    if (num_classes > 0) cfg.num_classes = num_classes;
    SPARSIFY_ASSIGN_OR_RETURN(std::shared_ptr<models::Model> target, models::create_model(cfg));
    torch::NoGradGuard no_grad;
    auto from_params = source->named_parameters();
    for (auto& p : target->named_parameters()) {
      const torch::Tensor* src = from_params.find(p.key());
      if (src && src->sizes() == p.value().sizes()) {
        p.value().copy_(*src);
      } else if (replaced) {
        replaced->push_back(p.key());
      }
    }
    auto from_buffers = source->named_buffers();
    for (auto& b : target->named_buffers()) {
      const torch::Tensor* src = from_buffers.find(b.key());
      if (src && src->sizes() == b.value().sizes()) b.value().copy_(*src);
    }
    return target;
  } catch (const c10::Error& e) {
    return internal_error("load_model ", checkpoint, ": LibTorch: ", e.what_without_backtrace());
  }
}

StatusOr<int> set_trainable(models::Model& model, const std::string& pattern, bool trainable) {
  const std::vector<recipe::ParamInfo> params = models::describe_parameters(model);
  const std::vector<std::string> names = recipe::match_params({pattern}, params);
  if (names.empty()) {
    std::string all;
    for (const auto& p : params) all += (all.empty() ? "" : ", ") + p.name;
    return not_found("'", pattern, "' matches no parameter; parameters: ", all);
  }
  auto named = model.named_parameters();
  for (const auto& n : names) named[n].set_requires_grad(trainable);
  return static_cast<int>(names.size());
}

}  // namespace sparsify::ml
