// The built-in trainer behind `sparsify train`: data, model, optimizer, recipe manager, checkpoints.
// Torch-free header so the CLI does not compile LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sparsify::ml {

/// Everything `sparsify train` takes.
struct TrainOptions {
  std::string recipe;                 // recipe file (.yaml/.md)
  std::string recipe_args;            // JSON object of variable overrides
  std::string model = "mnist_cnn";    // architecture name (see `sparsify train --help`)
  std::string data_dir;               // MNIST-format IDX files; empty: the set-up's data/mnist
  std::int64_t batch_size = 128;
  std::string optimizer = "sgd";      // sgd (momentum 0.9) | adam
  double lr = 0.01;                   // learning rate before any learning-rate modifier applies
  std::string output_dir;             // empty: out/<model>-<recipe stem>
  std::string resume;                 // checkpoint directory to continue from
  bool overwrite = false;             // allow an output dir that already holds a run
  int threads = 0;                    // 0: all cores
  std::uint64_t seed = 42;
  std::int64_t train_limit = 0;       // use only the first N training images (0: all)
  std::int64_t test_limit = 0;        // evaluate on the first N test images (0: all)
  bool progress = true;               // progress bars (only redrawn on a terminal)
  // Transfer learning:
  std::string from;                   // checkpoint to start from (architecture and weights)
  std::int64_t num_classes = 0;       // classifier size; 0: from the data. A new size replaces the head
  std::vector<int> classes;           // keep only these labels, remapped to 0..k-1 (e.g. a 5-class task)
  std::vector<std::string> freeze;    // parameter patterns (exact, re:, __ALL__) not to train
};

/// One row of the final per-layer table.
struct LayerSummary {
  std::string name;
  std::vector<std::int64_t> shape;
  double sparsity = 0.0;
  bool quantized = false;
};

/// What a finished run reports.
struct TrainResult {
  std::string output_dir;
  std::string last_checkpoint;        // directory of the last epoch's checkpoint
  int epochs = 0;
  double test_accuracy = 0.0;         // fraction in [0, 1]
  double test_loss = 0.0;
  double pruned_sparsity = 0.0;       // over the parameters the recipe prunes
  double prunable_sparsity = 0.0;     // over all prunable (Conv/Linear) weights
  double train_images_per_second = 0.0;
  std::vector<LayerSummary> layers;
  std::vector<std::string> warnings;  // recipe lint findings
};

/// Trains as the recipe says. Prints progress to stderr; writes checkpoints, metrics.jsonl and
/// the resolved recipe under the output dir. Errors name the file, flag or parameter at fault.
StatusOr<TrainResult> train(const TrainOptions& options);

/// Names of the architectures `--model` accepts.
std::vector<std::string> model_names();

}  // namespace sparsify::ml
