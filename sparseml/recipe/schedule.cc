// Schedule math: pure functions of epochs and steps, so training and `recipe show` agree exactly.
#include "sparseml/recipe/schedule.h"

#include <algorithm>
#include <cmath>

namespace sparsify::ml::recipe {

namespace {
constexpr double kPi = 3.14159265358979323846;
// Epochs are given as decimals (0.3 × 10 = 3.0000000000000004): tolerate float noise when snapping.
constexpr double kSnapEps = 1e-9;
}  // namespace

double schedule_progress(double epoch, double start, double end) {
  if (start < 0) start = 0;
  if (end < 0) return 0.0;
  if (end <= start) return epoch >= start ? 1.0 : 0.0;
  return std::clamp((epoch - start) / (end - start), 0.0, 1.0);
}

double interpolate(InterFunc f, double x) {
  x = std::clamp(x, 0.0, 1.0);
  switch (f) {
    case InterFunc::kLinear: return x;
    case InterFunc::kCubic: return 1.0 - std::pow(1.0 - x, 3.0);
    case InterFunc::kInverseCubic: return 1.0 - std::cbrt(1.0 - x);
  }
  return x;
}

double sparsity_at(double init, double final_sparsity, InterFunc f, double x) {
  return init + interpolate(f, x) * (final_sparsity - init);
}

std::int64_t epoch_to_step(double epoch, std::int64_t steps_per_epoch) {
  if (epoch <= 0) return 0;
  return static_cast<std::int64_t>(std::ceil(epoch * static_cast<double>(steps_per_epoch) - kSnapEps));
}

std::int64_t frequency_steps(double update_frequency, std::int64_t steps_per_epoch) {
  if (update_frequency <= 0) return 1;
  return std::max<std::int64_t>(1, std::llround(update_frequency * static_cast<double>(steps_per_epoch)));
}

bool UpdateSchedule::fires_at(std::int64_t step) const {
  if (step < start_step) return false;
  if (end_step >= 0 && step > end_step) return false;
  return step == end_step || (step - start_step) % every == 0;
}

std::int64_t UpdateSchedule::last_update(std::int64_t step) const {
  if (step < start_step) return -1;
  if (end_step >= 0 && step >= end_step) return end_step;
  return start_step + ((step - start_step) / every) * every;
}

UpdateSchedule make_update_schedule(const Modifier& m, std::int64_t steps_per_epoch) {
  UpdateSchedule s;
  s.start_step = epoch_to_step(m.start_epoch, steps_per_epoch);
  s.end_step = m.end_epoch < 0 ? -1 : std::max(s.start_step, epoch_to_step(m.end_epoch, steps_per_epoch));
  s.every = frequency_steps(m.update_frequency, steps_per_epoch);
  return s;
}

std::optional<std::vector<double>> pruning_targets_at(const Modifier& m, std::int64_t step, std::int64_t steps_per_epoch) {
  if (m.category() != ModifierCategory::kPruning) return std::nullopt;
  const UpdateSchedule s = make_update_schedule(m, steps_per_epoch);
  const std::int64_t u = s.last_update(step);
  if (u < 0) return std::nullopt;
  if (m.kind == ModifierKind::kConstantPruningModifier) {
    if (s.end_step >= 0 && step > s.end_step) return std::nullopt;
    return std::vector<double>(m.targets.size(), -1.0);
  }
  if (!m.leave_enabled && step > s.end_step) return std::nullopt;
  const double epoch = static_cast<double>(u) / static_cast<double>(steps_per_epoch);
  // The update at the end step reaches final_sparsity exactly, whatever the snapping did.
  const double x = u == s.end_step ? 1.0 : schedule_progress(epoch, m.start_epoch, m.end_epoch);
  std::vector<double> out;
  for (const auto& t : m.targets) out.push_back(sparsity_at(m.init_sparsity, t.final_sparsity, m.inter_func, x));
  return out;
}

namespace {

// Learning rate a modifier sets at `epoch` (the epoch of its last update), given it has started.
double modifier_lr(const Modifier& m, double epoch) {
  const LrSettings& lr = m.lr;
  const double start = std::max(0.0, m.start_epoch);
  if (m.kind == ModifierKind::kSetLearningRateModifier) return lr.learning_rate;
  if (m.kind == ModifierKind::kLearningRateFunctionModifier) {
    if (lr.func == "cyclic_linear") {
      // Restarts at init_lr every cycle_epochs, falling linearly to final_lr within each cycle.
      const double in_cycle = std::fmod(std::max(0.0, epoch - start), lr.cycle_epochs) / lr.cycle_epochs;
      return lr.init_lr + in_cycle * (lr.final_lr - lr.init_lr);
    }
    const double x = schedule_progress(epoch, m.start_epoch, m.end_epoch);
    if (lr.func == "cosine") return lr.final_lr + 0.5 * (lr.init_lr - lr.final_lr) * (1.0 + std::cos(kPi * x));
    return lr.init_lr + x * (lr.final_lr - lr.init_lr);
  }
  // LearningRateModifier: torch schedulers with epochs as the unit; milestones are absolute epochs.
  double e = epoch;
  if (m.end_epoch >= 0) e = std::min(e, m.end_epoch);
  if (lr.lr_class == "StepLR") return lr.init_lr * std::pow(lr.gamma, std::floor((e - start) / lr.step_size + kSnapEps));
  if (lr.lr_class == "MultiStepLR") {
    int passed = 0;
    for (double ms : lr.milestones) passed += e + kSnapEps >= ms ? 1 : 0;
    return lr.init_lr * std::pow(lr.gamma, passed);
  }
  return lr.init_lr * std::pow(lr.gamma, std::floor(e - start + kSnapEps));  // ExponentialLR
}

}  // namespace

double learning_rate_at(const Recipe& r, std::int64_t step, std::int64_t steps_per_epoch, double base_lr) {
  // Modifiers apply in order of their start (file order breaks ties); the latest started one wins.
  double lr = base_lr;
  std::int64_t latest_start = -1;
  for (const auto& m : r.modifiers) {
    if (m.category() != ModifierCategory::kLearningRate) continue;
    const UpdateSchedule s = make_update_schedule(m, steps_per_epoch);
    const std::int64_t u = s.last_update(step);
    if (u < 0 || s.start_step < latest_start) continue;
    latest_start = s.start_step;
    const bool stepwise = m.kind == ModifierKind::kLearningRateModifier;
    const std::int64_t at = stepwise ? std::min(step, s.end_step >= 0 ? s.end_step : step) : u;
    lr = modifier_lr(m, static_cast<double>(at) / static_cast<double>(steps_per_epoch));
  }
  return lr;
}

double weight_decay_at(const Recipe& r, std::int64_t step, std::int64_t steps_per_epoch, double base) {
  double wd = base;
  for (const auto& m : r.modifiers)
    if (m.kind == ModifierKind::kSetWeightDecayModifier && step >= epoch_to_step(m.start_epoch, steps_per_epoch))
      wd = m.weight_decay;
  return wd;
}

QuantState quantization_at(const Recipe& r, std::int64_t step, std::int64_t steps_per_epoch) {
  QuantState q;
  for (const auto& m : r.modifiers) {
    if (m.kind != ModifierKind::kQuantizationModifier) continue;
    if (step < epoch_to_step(m.start_epoch, steps_per_epoch)) continue;
    q.active = true;
    if (m.quant.disable_observer_epoch >= 0 && step >= epoch_to_step(m.quant.disable_observer_epoch, steps_per_epoch))
      q.observers_disabled = true;
    if (m.quant.freeze_bn_stats_epoch >= 0 && step >= epoch_to_step(m.quant.freeze_bn_stats_epoch, steps_per_epoch))
      q.bn_frozen = true;
  }
  return q;
}

}  // namespace sparsify::ml::recipe
