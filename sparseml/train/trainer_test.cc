// The built-in trainer on a slice of real MNIST: the recipe's sparsity is reached, accuracy is far
// above chance, QAT keeps the masks, and resuming from a checkpoint continues exactly.
#include <torch/torch.h>
#undef CHECK
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sparseml/models/models.h"
#include "sparseml/train/checkpoint.h"
#include "sparseml/train/trainer.h"

using namespace sparsify;
using namespace sparsify::ml;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("sparsify_trainer_test_" + name);
  fs::remove_all(p);
  return p.string();
}

TrainOptions short_run(const std::string& recipe, const std::string& args, const std::string& out) {
  TrainOptions o;
  o.recipe = recipe;
  o.recipe_args = args;
  o.output_dir = out;
  o.train_limit = 3000;
  o.test_limit = 1000;
  o.threads = 2;
  o.progress = false;
  return o;
}

constexpr const char* kFastPruning =
    R"({"num_epochs": 3, "pruning_start_epoch": 0.0, "pruning_end_epoch": 2.0, "pruning_update_frequency": 0.5})";

}  // namespace

TEST_CASE("GMP recipe on an MNIST slice reaches its sparsity with accuracy far above chance", "[trainer]") {
  const std::string out = temp_dir("gmp");
  auto r = train(short_run("recipes/mnist_cnn-pruned90.yaml", kFastPruning, out));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(r->epochs == 3);
  CHECK(r->prunable_sparsity >= 0.90);
  for (const auto& l : r->layers) {
    INFO(l.name);
    CHECK(l.sparsity == Approx(l.name == "conv1.0.weight" ? 0.5 : 0.93).margin(1e-3));
  }
  CHECK(r->test_accuracy > 0.80);  // chance is 0.10
  CHECK(fs::exists(fs::path(out) / "checkpoints" / "epoch-3" / "model.pt"));
  CHECK(fs::exists(fs::path(out) / "metrics.jsonl"));

  // The checkpoint's recipe is resolved: no eval() left, overrides applied.
  std::ifstream recipe(fs::path(out) / "checkpoints" / "epoch-3" / "recipe.yaml");
  std::string text((std::istreambuf_iterator<char>(recipe)), std::istreambuf_iterator<char>());
  CHECK(text.find("eval(") == std::string::npos);
  CHECK(text.find("num_epochs: 3") != std::string::npos);

  // A second run into the same dir is refused without --overwrite.
  auto again = train(short_run("recipes/mnist_cnn-pruned90.yaml", kFastPruning, out));
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.status().message(), Catch::Contains("already holds a training run"));
  fs::remove_all(out);
}

TEST_CASE("QAT recipe: layers quantized, masks kept, no accuracy lost to quantization", "[trainer]") {
  const std::string out = temp_dir("qat");
  auto r = train(short_run("recipes/mnist_cnn-pruned90-quant.yaml",
                           R"({"num_epochs": 4, "pruning_start_epoch": 0.0, "pruning_end_epoch": 2.0,
                               "pruning_update_frequency": 0.5, "quantization_start_epoch": 3.0,
                               "observer_freeze_epoch": 3.5})", out));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(r->prunable_sparsity >= 0.90);
  for (const auto& l : r->layers) CHECK(l.quantized);
  CHECK(r->test_accuracy > 0.80);
  // Epoch 3 is float, epoch 4 quantization-aware: fake quantization must not cost accuracy.
  std::ifstream metrics(fs::path(out) / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 4);
  CHECK_FALSE(lines[2]["quantization"].get<bool>());
  CHECK(lines[3]["quantization"].get<bool>());
  CHECK(lines[3]["test_accuracy"].get<double>() >= lines[2]["test_accuracy"].get<double>() - 0.01);
  auto state = read_checkpoint_state(out);
  REQUIRE(state.ok());
  CHECK(state->epoch == 4);
  fs::remove_all(out);
}

TEST_CASE("resume continues exactly where the checkpoint left off", "[trainer]") {
  const std::string straight = temp_dir("straight"), split = temp_dir("split");
  const std::string args = R"({"num_epochs": 2, "pruning_start_epoch": 0.0, "pruning_end_epoch": 1.5, "pruning_update_frequency": 0.5})";
  TrainOptions a = short_run("recipes/mnist_cnn-pruned90.yaml", args, straight);
  a.threads = 1;
  a.train_limit = 1000;
  REQUIRE(train(a).ok());

  // The same run stopped after epoch 1: train with num_epochs 2 but resume from epoch-1 of a copy.
  TrainOptions b = a;
  b.output_dir = split;
  REQUIRE(train(b).ok());
  fs::remove_all(fs::path(split) / "checkpoints" / "epoch-2");
  {
    std::ofstream last(fs::path(split) / "checkpoints" / "last");
    last << "epoch-1\n";
  }
  TrainOptions c;
  c.resume = (fs::path(split) / "checkpoints").string();
  c.threads = 1;
  c.progress = false;
  auto resumed = train(c);
  INFO(resumed.status().to_string());
  REQUIRE(resumed.ok());
  CHECK(resumed->last_checkpoint == (fs::path(split) / "checkpoints" / "epoch-2").string());

  models::ModelConfig cfg;
  cfg.arch = "mnist_cnn";
  auto m1 = models::create_model(cfg).value();
  auto m2 = models::create_model(cfg).value();
  REQUIRE(load_model_weights(straight, *m1).ok());
  REQUIRE(load_model_weights(split, *m2).ok());
  auto p1 = m1->named_parameters(), p2 = m2->named_parameters();
  for (const auto& p : p1) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), p2[p.key()]));
  }
  fs::remove_all(straight);
  fs::remove_all(split);
}

TEST_CASE("bad input is a clear error", "[trainer]") {
  TrainOptions o = short_run("recipes/mnist_cnn-pruned90.yaml", "", temp_dir("bad"));
  o.data_dir = "/nonexistent/mnist";
  auto r = train(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK_THAT(r.status().message(), Catch::Contains("/nonexistent/mnist"));

  o = short_run("recipes/mnist_cnn-pruned90.yaml", "", temp_dir("bad"));
  o.model = "resnet9000";
  CHECK_THAT(train(o).status().message(), Catch::Contains("resnet9000"));

  o = short_run("recipes/mnist_cnn-pruned90.yaml", "", temp_dir("bad"));
  o.model = "mnistnet";  // its parameter names differ from the recipe's
  auto wrong = train(o);
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.status().message(), Catch::Contains("matches no parameter of the model; prunable parameters: blocks.0.conv.weight"));

  CHECK_THAT(read_checkpoint_state("/nonexistent").status().message(), Catch::Contains("not a checkpoint"));
  fs::remove_all(temp_dir("bad"));
}

#include "sparseml/data/subset.h"
#include "sparseml/train/fit.h"
#include "sparseml/train/transfer.h"

TEST_CASE("transfer: new head, exact sparsity kept, frozen layers unchanged, in-memory datasets", "[trainer][transfer]") {
  const std::string src = temp_dir("transfer_src");
  TrainOptions o = short_run("recipes/mnist_cnn-pruned90.yaml", kFastPruning, src);
  o.train_limit = 2000;
  REQUIRE(train(o).ok());

  std::vector<std::string> replaced;
  auto model = load_model(src, /*num_classes=*/5, &replaced);
  INFO(model.status().to_string());
  REQUIRE(model.ok());
  CHECK(replaced == std::vector<std::string>{"out.weight", "out.bias"});
  auto source = load_model(src);
  REQUIRE(source.ok());
  auto before = (*source)->named_parameters();
  auto after = (*model)->named_parameters();
  CHECK(torch::equal(before["conv2.0.weight"], after["conv2.0.weight"]));
  CHECK(after["out.weight"].size(0) == 5);

  REQUIRE(set_trainable(**model, "re:conv1\\..*", false).value() == 2);
  CHECK_THAT(set_trainable(**model, "conv9.weight", false).status().message(), Catch::Contains("parameters: conv1.0.weight"));
  const torch::Tensor conv1 = after["conv1.0.weight"].clone();
  const double conv2_zeros = (after["conv2.0.weight"] == 0).sum().item<double>();

  // A user-built in-memory dataset: the first 5 digits of MNIST, relabelled 0..4.
  auto dir = data::find_data_dir("mnist");
  REQUIRE(dir.ok());
  auto full = data::load_mnist(*dir, data::Split::kTrain);
  REQUIRE(full.ok());
  auto five = data::select_classes(*full, {0, 1, 2, 3, 4});
  REQUIRE(five.ok());
  CHECK(five->num_classes == 5);
  data::ImageDataset train_set = *five, test_set = *five;
  train_set.count = 1500;
  train_set.images.resize(1500 * 784);
  train_set.labels.resize(1500);
  test_set.images.erase(test_set.images.begin(), test_set.images.begin() + 20000 * 784);
  test_set.labels.erase(test_set.labels.begin(), test_set.labels.begin() + 20000);
  test_set.count = static_cast<std::int64_t>(test_set.labels.size());
  auto recipe = recipe::parse_recipe_file("recipes/mnist_cnn-transfer.yaml", recipe::parse_recipe_args(R"({"num_epochs": 2})").value());
  REQUIRE(recipe.ok());
  FitOptions fo;
  fo.threads = 2;
  fo.progress = false;
  auto r = fit(**model, *recipe, std::make_shared<const data::ImageDataset>(train_set),
               std::make_shared<const data::ImageDataset>(test_set), fo);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(torch::equal(after["conv1.0.weight"], conv1));                                   // frozen
  CHECK((after["conv2.0.weight"] == 0).sum().item<double>() == conv2_zeros);              // exact sparsity kept
  CHECK(r->test_accuracy > 0.9);
  auto eval = evaluate(**model, test_set);
  REQUIRE(eval.ok());
  CHECK(eval->accuracy == Approx(r->test_accuracy));
  CHECK_THAT(data::select_classes(*full, {3, 3}).status().message(), Catch::Contains("listed twice"));
  fs::remove_all(src);
}
