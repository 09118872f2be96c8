// Schedule math shared by training and `recipe show`: progress, interpolation, step snapping, lr.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::recipe {

/// x = (epoch - start) / (end - start) clamped to [0, 1]. start == end is a single jump: 0 before,
/// 1 from `end` on. end == -1 ("never ends") gives 0.
double schedule_progress(double epoch, double start, double end);

/// y(x): linear y = x; cubic y = 1 - (1 - x)^3; inverse_cubic y = 1 - (1 - x)^(1/3).
/// ref: Zhu & Gupta 2017, "To prune, or not to prune" (the cubic schedule).
double interpolate(InterFunc f, double x);

/// init + y * (final - init).
double sparsity_at(double init, double final_sparsity, InterFunc f, double x);

/// First optimizer step whose epoch (step / steps_per_epoch) is >= `epoch`; -1 maps to step 0.
std::int64_t epoch_to_step(double epoch, std::int64_t steps_per_epoch);

/// Step interval between updates: -1 (every step) gives 1; otherwise round(frequency × steps_per_epoch), at least 1.
std::int64_t frequency_steps(double update_frequency, std::int64_t steps_per_epoch);

/// The update steps of a scheduled modifier, snapped to optimizer steps: start, every frequency after it,
/// and the end (when it has one).
struct UpdateSchedule {
  std::int64_t start_step = 0;
  std::int64_t end_step = -1;   // -1: never ends
  std::int64_t every = 1;
  /// True when an update fires at `step`.
  bool fires_at(std::int64_t step) const;
  /// The last update step <= `step`, or -1 when none has fired yet.
  std::int64_t last_update(std::int64_t step) const;
};
UpdateSchedule make_update_schedule(const Modifier& m, std::int64_t steps_per_epoch);

/// Target sparsity of each PruneTarget of a pruning modifier after the updates due at `step` have
/// run; nullopt when no mask applies at that step (not started yet, or ended with leave_enabled false).
/// ConstantPruningModifier yields its targets with sparsity -1 (hold the existing zeros).
std::optional<std::vector<double>> pruning_targets_at(const Modifier& m, std::int64_t step, std::int64_t steps_per_epoch);

/// Learning rate at `step` after all learning-rate modifiers in order; `base_lr` before any applies.
double learning_rate_at(const Recipe& r, std::int64_t step, std::int64_t steps_per_epoch, double base_lr);
/// Weight decay at `step` (SetWeightDecayModifier), or `base` before any applies.
double weight_decay_at(const Recipe& r, std::int64_t step, std::int64_t steps_per_epoch, double base);

/// Quantization state at a step: active (fake-quant on), observers frozen, BN statistics frozen.
struct QuantState {
  bool active = false;
  bool observers_disabled = false;
  bool bn_frozen = false;
};
QuantState quantization_at(const Recipe& r, std::int64_t step, std::int64_t steps_per_epoch);

}  // namespace sparsify::ml::recipe
