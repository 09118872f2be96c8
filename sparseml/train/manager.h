// Manager: applies a recipe to a LibTorch model and optimizer step by step, in the user's own loop.
//
//   auto manager = Manager::create(recipe, *model, optimizer, steps_per_epoch).value();
//   for (int64_t s = 0; s < manager->total_steps(); ++s) {
//     SPARSIFY_RETURN_IF_ERROR(manager->begin_step());   // lr, weight decay, mask updates, QAT state
//     loss = criterion(model->forward(x), y); optimizer.zero_grad(); loss.backward();
//     manager->mask_gradients();                          // pruned weights get no gradient
//     optimizer.step();
//     manager->end_step();                                // re-apply masks (momentum cannot regrow them)
//   }
//   manager->finalize();
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "sparseml/recipe/lint.h"
#include "sparseml/recipe/recipe.h"

namespace sparsify::ml {

/// What the manager needs from a model that supports quantization-aware training.
class QuantizationControl {
 public:
  virtual ~QuantizationControl() = default;
  /// Turns fake quantization on with the recipe's settings (observers start observing).
  virtual Status enable_quantization(const recipe::QuantSettings& settings) = 0;
  /// Freezes observers: scales and zero points stop changing.
  virtual void disable_observers() = 0;
  /// Freezes BatchNorm statistics: running mean and variance are used from now on.
  virtual void freeze_bn_stats() = 0;
};

/// Pruning state of one parameter, for progress lines and the final table.
struct ParamPruningState {
  std::string name;
  std::vector<std::int64_t> shape;
  double target = 0.0;    // the current target sparsity (0 when not pruned)
  double sparsity = 0.0;  // measured fraction of exact zeros
  bool masked = false;    // a mask currently applies
};

/// Applies a recipe's modifiers at optimizer steps. Not thread-safe; one per training run.
/// The model and optimizer must outlive the manager.
class Manager {
 public:
  /// Binds `recipe` to `model`'s named parameters and to `optimizer`. `params` describes the model's
  /// parameters (which are prunable); when empty, Conv and Linear weights are prunable.
  /// Errors: a pruning `params` entry that matches no parameter (not_found, listing the prunable
  /// names); QuantizationModifier without `quant` (unsupported); DistillationModifier (unsupported).
  static StatusOr<std::unique_ptr<Manager>> create(const recipe::Recipe& recipe, torch::nn::Module& model,
                                                   torch::optim::Optimizer& optimizer, std::int64_t steps_per_epoch,
                                                   QuantizationControl* quant = nullptr,
                                                   std::vector<recipe::ParamInfo> params = {});
  ~Manager();

  /// Applies what is due at the current step: learning rate, weight decay, pruning mask updates
  /// (then masks the weights), quantization state changes.
  [[nodiscard]] Status begin_step();
  /// Multiplies gradients by the masks. Call after backward(), before optimizer.step().
  void mask_gradients();
  /// Re-applies masks to the weights and advances the step. Call after optimizer.step().
  void end_step();
  /// Makes sure every masked weight is an exact zero. Call once after training.
  void finalize();

  std::int64_t step() const;
  double epoch() const;
  std::int64_t steps_per_epoch() const;
  int num_epochs() const;                 // ceil of the recipe's last epoch
  std::int64_t total_steps() const;       // num_epochs() × steps_per_epoch()
  double learning_rate() const;           // as set at the last begin_step()
  bool quantization_active() const;
  /// Pruning state of every parameter any pruning modifier names.
  std::vector<ParamPruningState> pruning_state() const;
  /// Sparsity over all pruned parameters together (0 when none).
  double overall_pruned_sparsity() const;

  /// Saves the step and all masks; load() restores them (call on a manager created the same way,
  /// before loading the model weights: it re-enables quantization state due at that step).
  void save(torch::serialize::OutputArchive& archive) const;
  [[nodiscard]] Status load(torch::serialize::InputArchive& archive);

 private:
  struct Impl;
  explicit Manager(std::unique_ptr<Impl> impl);
  static StatusOr<std::unique_ptr<Manager>> create_impl(const recipe::Recipe& recipe, torch::nn::Module& model,
                                                        torch::optim::Optimizer& optimizer, std::int64_t steps_per_epoch,
                                                        QuantizationControl* quant, std::vector<recipe::ParamInfo> params);
  Status begin_step_impl();
  std::unique_ptr<Impl> impl_;
};

/// Parameters of a module tree as the recipe sees them: Conv and Linear weights are prunable.
std::vector<recipe::ParamInfo> describe_module_parameters(torch::nn::Module& model);

}  // namespace sparsify::ml
