// Transfer learning helpers: load a (sparse) model from a checkpoint with a new head, freeze parts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "sparseml/models/models.h"

namespace sparsify::ml {

/// Builds the architecture recorded in a checkpoint (a run dir, its checkpoints/ dir or an epoch
/// dir) and loads its weights. `num_classes` 0 keeps the checkpoint's class count; another count
/// gives a freshly initialized classifier head of that size while every other parameter and
/// buffer, with its exact zeros, comes from the checkpoint. *replaced (when non-null) receives the
/// names of parameters left at their fresh values. QAT observers are not carried over: a recipe
/// with a QuantizationModifier creates them anew. The caller owns the model.
StatusOr<std::shared_ptr<models::Model>> load_model(const std::string& checkpoint, std::int64_t num_classes = 0,
                                                    std::vector<std::string>* replaced = nullptr);

/// Sets requires_grad on every parameter matching `pattern` (exact name, "re:<regex>" full match,
/// "__ALL__", "__ALL_PRUNABLE__"); returns how many matched (not_found when none, listing names).
StatusOr<int> set_trainable(models::Model& model, const std::string& pattern, bool trainable);

}  // namespace sparsify::ml
