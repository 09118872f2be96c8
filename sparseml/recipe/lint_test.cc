// Lint: findings for recipes that parse but will not do what their author thinks.
#include <catch2/catch.hpp>

#include "sparseml/recipe/lint.h"

using namespace sparsify::ml::recipe;

namespace {
Recipe parse(const std::string& yaml) {
  auto r = parse_recipe_text(yaml, "t.yaml");
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}
std::vector<ParamInfo> mnist_cnn() {
  return {{"conv1.0.weight", {32, 1, 5, 5}, true}, {"conv1.0.bias", {32}, false},
          {"conv2.0.weight", {64, 32, 5, 5}, true}, {"conv2.0.bias", {64}, false},
          {"out.weight", {10, 3136}, true}, {"out.bias", {10}, false}};
}
}  // namespace

TEST_CASE("the tutorial recipe: both pruning modifiers never take effect", "[lint]") {
  auto r = parse_recipe_file("recipes/pytorch-nm-mnist-recipe.yaml");
  REQUIRE(r.ok());
  auto d = lint_recipe(*r);
  REQUIRE(d.size() == 2);
  CHECK(d[0].to_string() == "recipes/pytorch-nm-mnist-recipe.yaml:8:7: warning: GMPruningModifier: never takes effect: "
                            "it starts at epoch 1.0 and training ends at epoch 1.0 (the last epoch any modifier names), "
                            "so no parameter is pruned");
  CHECK(d[1].loc.line == 23);
  CHECK(lint_recipe(*r, mnist_cnn()).size() == 2);  // its params all exist in mnist_cnn
}

TEST_CASE("pruning that ends at the end of training never reaches its final sparsity", "[lint]") {
  auto d = lint_recipe(parse("modifiers:\n  - !GMPruningModifier {params: [w], final_sparsity: 0.9, start_epoch: 0, end_epoch: 5}\n"));
  REQUIRE(d.size() == 1);
  CHECK_THAT(d[0].message, Catch::Contains("never reaches its final sparsity: it ends at epoch 5.0"));
}

TEST_CASE("learning-rate changes after the end", "[lint]") {
  auto d = lint_recipe(parse(R"(
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: 4}
  - !LearningRateModifier {lr_class: MultiStepLR, lr_kwargs: {milestones: [2, 6]}, init_lr: 0.1, start_epoch: 0}
  - !SetLearningRateModifier {learning_rate: 0.001, start_epoch: 4}
)"));
  REQUIRE(d.size() == 2);
  CHECK_THAT(d[0].message, Catch::Contains("milestone 6.0 is at or after the end of training (4.0)"));
  CHECK_THAT(d[1].message, Catch::Contains("never takes effect: it changes the learning rate at epoch 4.0"));
}

TEST_CASE("two pruning modifiers on one parameter over overlapping epochs", "[lint]") {
  const char* yaml = R"(
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: 20}
  - !GMPruningModifier {params: [conv2.0.weight], final_sparsity: 0.9, start_epoch: 0, end_epoch: 5}
  - !GMPruningModifier {params: ['re:conv.*weight'], final_sparsity: 0.8, start_epoch: 4, end_epoch: 8}
  - !GMPruningModifier {params: [out.weight], final_sparsity: 0.8, start_epoch: 0, end_epoch: 8}
  - !GMPruningModifier {params: [conv2.0.weight], final_sparsity: 0.95, start_epoch: 8, end_epoch: 10}
)";
  auto d = lint_recipe(parse(yaml));
  REQUIRE(d.size() == 1);
  CHECK_THAT(d[0].message, Catch::Contains("prunes 'conv2.0.weight' over epochs that overlap GMPruningModifier at t.yaml:4:5"));
  // With the model the regex is expanded exactly: conv1 and conv2 weights.
  auto dm = lint_recipe(parse(yaml), mnist_cnn());
  REQUIRE(dm.size() == 1);
  CHECK(dm[0].loc.line == 5);
}

TEST_CASE("params that match no parameter list the prunable ones", "[lint]") {
  auto d = lint_recipe(parse("modifiers:\n  - !EpochRangeModifier {end_epoch: 9}\n"
                             "  - !GMPruningModifier {params: [conv3.weight, 're:conv1.*'], final_sparsity: 0.9, start_epoch: 0, end_epoch: 5}\n"),
                       mnist_cnn());
  REQUIRE(d.size() == 1);
  CHECK(d[0].message == "params entry 'conv3.weight' matches no parameter of the model; prunable parameters: "
                        "conv1.0.weight, conv2.0.weight, out.weight");
}

TEST_CASE("match_params: exact, re:, __ALL__, __ALL_PRUNABLE__", "[lint]") {
  CHECK(match_params({"__ALL_PRUNABLE__"}, mnist_cnn()).size() == 3);
  CHECK(match_params({"__ALL__"}, mnist_cnn()).size() == 6);
  CHECK(match_params({"re:.*bias"}, mnist_cnn()).size() == 3);
  CHECK(match_params({"re:conv"}, mnist_cnn()).empty());  // full match, as SparseML
  CHECK(match_params({"out.weight"}, mnist_cnn()) == std::vector<std::string>{"out.weight"});
}
