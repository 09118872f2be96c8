// Schedule math against hand-computed values: progress, interpolation, snapping, lr, quantization.
#include <catch2/catch.hpp>

#include <cmath>

#include "sparseml/recipe/schedule.h"

using namespace sparsify::ml::recipe;

namespace {
Recipe parse(const std::string& yaml) {
  auto r = parse_recipe_text(yaml, "t.yaml");
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}
}  // namespace

TEST_CASE("progress is clamped; start == end is a single jump; -1 end never progresses", "[schedule]") {
  CHECK(schedule_progress(0.0, 1.0, 3.0) == 0.0);
  CHECK(schedule_progress(2.0, 1.0, 3.0) == 0.5);
  CHECK(schedule_progress(5.0, 1.0, 3.0) == 1.0);
  CHECK(schedule_progress(0.99, 1.0, 1.0) == 0.0);
  CHECK(schedule_progress(1.0, 1.0, 1.0) == 1.0);
  CHECK(schedule_progress(7.0, -1.0, 4.0) == Approx(1.0));
  CHECK(schedule_progress(2.0, -1.0, 4.0) == 0.5);  // -1 start = from the beginning
  CHECK(schedule_progress(100.0, 0.0, -1.0) == 0.0);
}

TEST_CASE("interpolation functions", "[schedule]") {
  CHECK(interpolate(InterFunc::kLinear, 0.25) == 0.25);
  CHECK(interpolate(InterFunc::kCubic, 0.5) == Approx(0.875));           // 1 - 0.5^3
  CHECK(interpolate(InterFunc::kInverseCubic, 0.875) == Approx(0.5));    // 1 - 0.125^(1/3)
  CHECK(interpolate(InterFunc::kCubic, 1.0) == 1.0);
  CHECK(sparsity_at(0.05, 0.85, InterFunc::kCubic, 0.5) == Approx(0.05 + 0.875 * 0.8));
  CHECK(sparsity_at(0.05, 0.85, InterFunc::kLinear, 0.0) == 0.05);
}

TEST_CASE("epochs snap to optimizer steps", "[schedule]") {
  CHECK(epoch_to_step(0.3, 10) == 3);        // 0.3 * 10 = 3.0000000000000004 must not become 4
  CHECK(epoch_to_step(0.31, 10) == 4);
  CHECK(epoch_to_step(1.0, 469) == 469);
  CHECK(epoch_to_step(-1.0, 469) == 0);
  CHECK(frequency_steps(-1, 469) == 1);
  CHECK(frequency_steps(0.25, 10) == 3);     // round(2.5) away from zero
  CHECK(frequency_steps(0.01, 10) == 1);
}

TEST_CASE("GMP fires at start, every update_frequency, and at the end", "[schedule]") {
  Recipe r = parse(R"(
modifiers:
  - !GMPruningModifier {params: [w], init_sparsity: 0.05, final_sparsity: 0.85, start_epoch: 1, end_epoch: 3,
                        update_frequency: 0.5, inter_func: cubic}
)");
  const Modifier& m = r.modifiers[0];
  const std::int64_t spe = 10;
  UpdateSchedule s = make_update_schedule(m, spe);
  CHECK(s.start_step == 10);
  CHECK(s.end_step == 30);
  CHECK(s.every == 5);
  CHECK_FALSE(s.fires_at(9));
  CHECK(s.fires_at(10));
  CHECK_FALSE(s.fires_at(11));
  CHECK(s.fires_at(15));
  CHECK(s.fires_at(30));
  CHECK_FALSE(s.fires_at(35));
  CHECK_FALSE(pruning_targets_at(m, 9, spe).has_value());
  CHECK((*pruning_targets_at(m, 10, spe))[0] == Approx(0.05));
  // Steps 15..19 hold the value of the update at step 15 (epoch 1.5, x = 0.25).
  const double at15 = 0.05 + (1 - std::pow(0.75, 3)) * 0.8;
  CHECK((*pruning_targets_at(m, 15, spe))[0] == Approx(at15));
  CHECK((*pruning_targets_at(m, 19, spe))[0] == Approx(at15));
  CHECK((*pruning_targets_at(m, 20, spe))[0] == Approx(0.05 + 0.875 * 0.8));
  CHECK((*pruning_targets_at(m, 30, spe))[0] == 0.85);
  CHECK((*pruning_targets_at(m, 1000, spe))[0] == 0.85);
}

TEST_CASE("start == end jumps once to the final sparsity; leave_enabled false drops the mask after", "[schedule]") {
  Recipe r = parse(R"(
modifiers:
  - !GMPruningModifier {params: [w], init_sparsity: 0.05, final_sparsity: 0.8, start_epoch: 2, end_epoch: 2, update_frequency: -1}
  - !GMPruningModifier {params: [v], init_sparsity: 0.0, final_sparsity: 0.5, start_epoch: 0, end_epoch: 1, leave_enabled: False, inter_func: linear}
)");
  CHECK_FALSE(pruning_targets_at(r.modifiers[0], 19, 10).has_value());
  CHECK((*pruning_targets_at(r.modifiers[0], 20, 10))[0] == 0.8);
  CHECK((*pruning_targets_at(r.modifiers[1], 5, 10))[0] == Approx(0.25));
  CHECK((*pruning_targets_at(r.modifiers[1], 10, 10))[0] == 0.5);
  CHECK_FALSE(pruning_targets_at(r.modifiers[1], 11, 10).has_value());
}

TEST_CASE("-1 epochs: ConstantPruningModifier holds from the beginning and never ends", "[schedule]") {
  Recipe r = parse("modifiers:\n  - !ConstantPruningModifier {params: [w]}\n");
  CHECK((*pruning_targets_at(r.modifiers[0], 0, 10))[0] == -1.0);
  CHECK(pruning_targets_at(r.modifiers[0], 100000, 10).has_value());
}

TEST_CASE("learning rate functions and schedulers", "[schedule]") {
  Recipe r = parse(R"(
modifiers:
  - !SetLearningRateModifier {learning_rate: 0.1, start_epoch: 0}
  - !LearningRateFunctionModifier {lr_func: linear, init_lr: 0.1, final_lr: 0.0, start_epoch: 2, end_epoch: 4}
  - !LearningRateFunctionModifier {lr_func: cosine, init_lr: 0.05, final_lr: 0.01, start_epoch: 4, end_epoch: 6}
  - !LearningRateModifier {lr_class: StepLR, lr_kwargs: {step_size: 2, gamma: 0.5}, init_lr: 0.02, start_epoch: 6, end_epoch: 12}
)");
  const std::int64_t spe = 4;
  CHECK(learning_rate_at(r, 0, spe, 1.0) == 0.1);
  CHECK(learning_rate_at(r, 7, spe, 1.0) == 0.1);
  CHECK(learning_rate_at(r, 12, spe, 1.0) == Approx(0.05));     // epoch 3: linear halfway
  CHECK(learning_rate_at(r, 16, spe, 1.0) == Approx(0.05));     // epoch 4: cosine starts at init
  CHECK(learning_rate_at(r, 20, spe, 1.0) == Approx(0.03));     // epoch 5: cosine halfway
  CHECK(learning_rate_at(r, 24, spe, 1.0) == Approx(0.02));     // epoch 6: StepLR init
  CHECK(learning_rate_at(r, 31, spe, 1.0) == Approx(0.02));     // epoch 7.75
  CHECK(learning_rate_at(r, 32, spe, 1.0) == Approx(0.01));     // epoch 8: one step
  CHECK(learning_rate_at(r, 44, spe, 1.0) == Approx(0.005));    // epoch 11: floor(5 / 2) = 2 steps
  CHECK(learning_rate_at(r, 80, spe, 1.0) == Approx(0.0025));   // after end: holds the value at epoch 12
}

TEST_CASE("cyclic_linear, MultiStepLR with absolute milestones, ExponentialLR", "[schedule]") {
  Recipe r = parse(R"(
modifiers:
  - !LearningRateFunctionModifier {lr_func: cyclic_linear, init_lr: 0.1, final_lr: 0.0, start_epoch: 0, end_epoch: 4, cycle_epochs: 2}
)");
  CHECK(learning_rate_at(r, 5, 10, 0) == Approx(0.075));   // epoch 0.5 of a 2-epoch cycle
  CHECK(learning_rate_at(r, 25, 10, 0) == Approx(0.075));  // epoch 2.5: restarted
  Recipe m = parse("modifiers:\n  - !LearningRateModifier {lr_class: MultiStepLR, lr_kwargs: {milestones: [3, 5], gamma: 0.1}, init_lr: 1.0, start_epoch: 2}\n");
  CHECK(learning_rate_at(m, 19, 10, 9) == 9);   // before start: base
  CHECK(learning_rate_at(m, 20, 10, 9) == 1.0);
  CHECK(learning_rate_at(m, 30, 10, 9) == Approx(0.1));
  CHECK(learning_rate_at(m, 55, 10, 9) == Approx(0.01));
  Recipe e = parse("modifiers:\n  - !LearningRateModifier {lr_class: ExponentialLR, lr_kwargs: {gamma: 0.5}, init_lr: 1.0, start_epoch: 0}\n");
  CHECK(learning_rate_at(e, 29, 10, 0) == Approx(0.25));
}

TEST_CASE("quantization state and weight decay follow their epochs", "[schedule]") {
  Recipe r = parse(R"(
modifiers:
  - !SetWeightDecayModifier {weight_decay: 0.001, start_epoch: 1}
  - !QuantizationModifier {start_epoch: 2, disable_quantization_observer_epoch: 3.5, freeze_bn_stats_epoch: 3}
)");
  CHECK(weight_decay_at(r, 9, 10, 0.0) == 0.0);
  CHECK(weight_decay_at(r, 10, 10, 0.0) == 0.001);
  CHECK_FALSE(quantization_at(r, 19, 10).active);
  QuantState q = quantization_at(r, 30, 10);
  CHECK(q.active);
  CHECK(q.bn_frozen);
  CHECK_FALSE(q.observers_disabled);
  CHECK(quantization_at(r, 35, 10).observers_disabled);
}
