// Training checkpoints: one directory per epoch, written to a temporary name and renamed into place.
//
//   OUT/checkpoints/epoch-3/model.pt       model parameters and buffers (QAT observers included)
//                           optimizer.pt   optimizer state
//                           manager.pt     recipe step and pruning masks
//                           recipe.yaml    the recipe with every variable resolved
//                           state.json     model config, training settings, epoch, step, metrics
//   OUT/checkpoints/last                   name of the newest complete checkpoint ("epoch-3")
//   OUT/metrics.jsonl                      one JSON object per epoch
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sparsify::ml {

namespace models { class Model; }
class Manager;

/// The contents of state.json.
struct CheckpointState {
  struct ModelConfig {
    std::string arch;
    std::int64_t num_classes = 10, in_channels = 1, image_size = 28;
  } model;
  int epoch = 0;                      // epochs completed
  std::int64_t step = 0;              // optimizer steps completed
  std::int64_t steps_per_epoch = 0;
  std::int64_t batch_size = 0;
  std::int64_t train_limit = 0;
  std::string optimizer;
  double lr = 0.0;
  std::uint64_t seed = 0;
  std::string data_dir;
  std::string recipe_source;
  std::vector<int> classes;           // label subset trained on (transfer to a k-class task), or empty
  std::vector<std::string> freeze;    // parameter patterns kept frozen
  std::string metrics;                // JSON object of the epoch's metrics
};

/// Creates `dir`; an existing dir holding checkpoints is an error unless `overwrite`.
[[nodiscard]] Status prepare_output_dir(const std::string& dir, bool overwrite);

/// Writes OUT/checkpoints/epoch-<state.epoch> atomically and points `last` at it; returns its path.
StatusOr<std::string> write_checkpoint(const std::string& output_dir, const CheckpointState& state,
                                       const std::string& recipe_yaml, models::Model& model,
                                       torch::optim::Optimizer& optimizer, const Manager& manager);

/// Reads state.json of a checkpoint dir (or of OUT/checkpoints/last when given OUT or OUT/checkpoints).
StatusOr<CheckpointState> read_checkpoint_state(const std::string& checkpoint_dir);

/// Resolves OUT, OUT/checkpoints or OUT/checkpoints/epoch-N to the checkpoint directory.
StatusOr<std::string> resolve_checkpoint_dir(const std::string& path);

/// Restores manager (step, masks, QAT state), then model, then optimizer from a checkpoint dir.
[[nodiscard]] Status load_checkpoint(const std::string& checkpoint_dir, models::Model& model,
                                     torch::optim::Optimizer& optimizer, Manager& manager);

/// Loads only the model weights of a checkpoint into `model` (which must have the same config;
/// call model.qat().enable() first when the checkpoint was quantization-aware).
[[nodiscard]] Status load_model_weights(const std::string& checkpoint_dir, models::Model& model);

/// Appends one line to OUT/metrics.jsonl and flushes it.
[[nodiscard]] Status append_metrics(const std::string& output_dir, const std::string& json_line);

}  // namespace sparsify::ml
