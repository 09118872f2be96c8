// Every recipe shipped in recipes/ parses, and the shipped MNIST recipes do what they promise.
#include <catch2/catch.hpp>

#include <filesystem>

#include "sparseml/recipe/lint.h"
#include "sparseml/recipe/schedule.h"

using namespace sparsify::ml::recipe;

TEST_CASE("every shipped recipe parses", "[recipes]") {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("recipes")) {
    const std::string path = entry.path().string();
    if (entry.path().extension() != ".yaml" && entry.path().extension() != ".md") continue;
    INFO(path);
    auto r = parse_recipe_file(path);
    INFO(r.status().to_string());
    CHECK(r.ok());
    ++count;
  }
  CHECK(count >= 3);
}

namespace {
// mnist_cnn's parameters (the tutorial model): name, shape.
std::vector<ParamInfo> mnist_cnn() {
  return {{"conv1.0.weight", {32, 1, 5, 5}, true}, {"conv1.0.bias", {32}, false},
          {"conv2.0.weight", {64, 32, 5, 5}, true}, {"conv2.0.bias", {64}, false},
          {"out.weight", {10, 3136}, true}, {"out.bias", {10}, false}};
}

// Sparsity of all prunable weights at the end of training, from the schedule.
double final_overall_sparsity(const Recipe& r) {
  const std::int64_t spe = 469, last = static_cast<std::int64_t>(r.num_epochs()) * spe - 1;
  double zeros = 0, total = 0;
  for (const auto& p : mnist_cnn()) {
    if (!p.prunable) continue;
    double n = 1;
    for (auto d : p.shape) n *= static_cast<double>(d);
    total += n;
    for (const auto& m : r.modifiers) {
      auto t = pruning_targets_at(m, last, spe);
      if (!t) continue;
      for (size_t i = 0; i < m.targets.size(); ++i)
        if (!match_params(m.targets[i].params, {p}).empty()) zeros += std::round((*t)[i] * n);
    }
  }
  return zeros / total;
}
}  // namespace

TEST_CASE("shipped MNIST recipes: clean lint, >= 90 % sparsity, QAT after pruning", "[recipes]") {
  for (const char* path : {"recipes/mnist_cnn-pruned90.yaml", "recipes/mnist_cnn-pruned90-quant.yaml"}) {
    INFO(path);
    auto r = parse_recipe_file(path);
    REQUIRE(r.ok());
    CHECK(lint_recipe(*r, mnist_cnn()).empty());
    CHECK(final_overall_sparsity(*r) >= 0.90);
  }
  auto q = parse_recipe_file("recipes/mnist_cnn-pruned90-quant.yaml");
  const std::int64_t spe = 469;
  CHECK_FALSE(quantization_at(*q, 9 * spe, spe).active);
  CHECK(quantization_at(*q, 10 * spe, spe).active);
  CHECK(quantization_at(*q, 11 * spe, spe).observers_disabled);
}
