// The training loop behind `sparsify train`, callable with your own model and in-memory datasets.
#pragma once

#include <memory>
#include <string>

#include "sparseml/data/mnist.h"
#include "sparseml/models/models.h"
#include "sparseml/recipe/recipe.h"
#include "sparseml/train/trainer.h"

namespace sparsify::ml {

/// Settings of one fit() run.
struct FitOptions {
  std::int64_t batch_size = 128;
  std::string optimizer = "sgd";     // sgd (momentum 0.9) | adam
  double lr = 0.01;                  // before any learning-rate modifier applies
  int threads = 0;                   // 0: all cores
  std::uint64_t seed = 42;           // shuffling
  std::string output_dir;            // checkpoints and metrics; empty: nothing is written
  bool overwrite = false;
  bool progress = true;
  std::string recipe_source;         // recorded in checkpoints
  std::string data_dir;              // recorded in checkpoints
};

/// Test loss and accuracy of a model on a dataset.
struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;   // fraction in [0, 1]
  std::int64_t count = 0;
};

/// Trains `model` on `train` as `recipe` says, evaluating on `test` after every epoch; writes
/// checkpoints and metrics.jsonl when output_dir is set. Parameters with requires_grad false stay
/// frozen. Images are normalized with MNIST's mean and std. LibTorch errors become Status.
StatusOr<TrainResult> fit(models::Model& model, const recipe::Recipe& recipe,
                          std::shared_ptr<const data::ImageDataset> train,
                          std::shared_ptr<const data::ImageDataset> test, const FitOptions& options);

/// Loss and accuracy on `dataset` (no gradients; QAT observers are not updated).
StatusOr<EvalResult> evaluate(models::Model& model, const data::ImageDataset& dataset, std::int64_t batch_size = 1000);

}  // namespace sparsify::ml
