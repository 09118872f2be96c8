// Sparse transfer learning: take a pruned MNIST model, give it a new 5-class head, and train it on
// a different labelling task (digits 0-4) while every pruned weight stays exactly zero.
//   example_transfer_learning [CHECKPOINT] [--short]
// Without CHECKPOINT it first prunes mnist_cnn itself with recipes/mnist_cnn-pruned90.yaml.
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <map>
#include <string>

#include "engine/engine.h"
#include "engine/graph/tensor_proto.h"
#include "sparseml/sparsify.h"

using namespace sparsify;
using namespace sparsify::ml;

int fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.to_string().c_str());
  return 1;
}

int main(int argc, char** argv) {
  std::string checkpoint;
  bool short_run = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--short") == 0) short_run = true;
    else checkpoint = argv[i];
  }
  // 0. A pruned source model (normally from `sparsify train` or the zoo).
  if (checkpoint.empty()) {
    TrainOptions o;
    o.recipe = "recipes/mnist_cnn-pruned90.yaml";
    if (short_run) {
      o.recipe_args = R"({"num_epochs": 3, "pruning_start_epoch": 0.0, "pruning_end_epoch": 2.0, "pruning_update_frequency": 0.5})";
      o.train_limit = 3000;
    }
    o.output_dir = "out/transfer_source";
    o.overwrite = true;
    o.threads = 2;
    o.progress = false;
    auto src = train(o);
    if (!src.ok()) return fail(src.status());
    checkpoint = src->output_dir;
    std::printf("source: %s, pruned to %.2f %%\n", checkpoint.c_str(), 100 * src->prunable_sparsity);
  }

  // 1. Load it with a new 5-class head; every other weight (and its zeros) comes from the checkpoint.
  std::vector<std::string> replaced;
  auto model = load_model(checkpoint, /*num_classes=*/5, &replaced);
  if (!model.ok()) return fail(model.status());
  std::map<std::string, double> zeros_before;
  for (const auto& p : (*model)->named_parameters()) zeros_before[p.key()] = (p.value() == 0).sum().item<double>();

  // 2. The new task: MNIST digits 0-4, relabelled 0..4. Any ImageDataset works (fill one yourself).
  auto dir = data::find_data_dir("mnist");
  if (!dir.ok()) return fail(dir.status());
  auto train_all = data::load_mnist(*dir, data::Split::kTrain);
  auto test_all = data::load_mnist(*dir, data::Split::kTest);
  if (!train_all.ok()) return fail(train_all.status());
  if (!test_all.ok()) return fail(test_all.status());
  auto train_set = data::select_classes(*train_all, {0, 1, 2, 3, 4});
  auto test_set = data::select_classes(*test_all, {0, 1, 2, 3, 4});
  if (!train_set.ok()) return fail(train_set.status());
  if (!test_set.ok()) return fail(test_set.status());
  if (short_run) {
    train_set->count = 2000;
    train_set->images.resize(2000 * 784);
    train_set->labels.resize(2000);
  }

  // 3. The transfer recipe: ConstantPruningModifier holds every zero while the model trains.
  recipe::VariableOverrides args;
  if (short_run) args.emplace_back("num_epochs", recipe::Value::real(2.0));
  auto recipe = recipe::parse_recipe_file("recipes/mnist_cnn-transfer.yaml", args);
  if (!recipe.ok()) return fail(recipe.status());
  FitOptions fo;
  fo.threads = 2;
  fo.output_dir = "out/transfer_learning";
  fo.overwrite = true;
  auto before = evaluate(**model, *test_set);
  auto result = fit(**model, *recipe, std::make_shared<const data::ImageDataset>(std::move(*train_set)),
                    std::make_shared<const data::ImageDataset>(*test_set), fo);
  if (!result.ok()) return fail(result.status());

  // 4. Every pruned layer keeps exactly the sparsity it came with.
  int changed = 0;
  for (const auto& p : (*model)->named_parameters()) {
    const double zeros = (p.value() == 0).sum().item<double>();
    if (zeros_before[p.key()] > 0) {
      std::printf("  %-16s sparsity %.2f %% (came with %.2f %%)\n", p.key().c_str(), 100 * zeros / p.value().numel(),
                  100 * zeros_before[p.key()] / p.value().numel());
      if (zeros != zeros_before[p.key()]) ++changed;
    }
  }
  std::printf("5-class accuracy: %.2f %% before transfer (new head untrained), %.2f %% after\n",
              before.ok() ? 100 * before->accuracy : 0.0, 100 * result->test_accuracy);
  std::printf("checkpoint: %s\n", result->last_checkpoint.c_str());
  if (changed != 0) return std::fprintf(stderr, "error: %d pruned layers changed sparsity\n", changed), 1;

  // 5. Deploy: export to ONNX (with LibTorch's outputs for 64 test images) and run it in the engine.
  onnx_export::ExportOptions eo;
  eo.checkpoint = result->last_checkpoint;
  eo.samples = 64;
  auto onnx = onnx_export::export_checkpoint(eo);
  if (!onnx.ok()) return fail(onnx.status());
  auto input = engine::read_tensor_file(onnx->test_data_dir + "/input_0.pb");
  auto expected = engine::read_tensor_file(onnx->test_data_dir + "/output_0.pb");
  if (!input.ok()) return fail(input.status());
  if (!expected.ok()) return fail(expected.status());
  engine::Options options;
  options.threads = 2;
  auto eng = engine::Engine::load_file(onnx->model_path, options);
  if (!eng.ok()) return fail(eng.status());
  auto outputs = eng->run({*input});
  if (!outputs.ok()) return fail(outputs.status());
  const engine::Tensor& got = (*outputs)[0];
  const std::int64_t rows = got.dims()[0], cols = got.dims()[1];
  int same = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* a = got.data<float>() + r * cols;
    const float* b = expected->template data<float>() + r * cols;
    same += std::max_element(a, a + cols) - a == std::max_element(b, b + cols) - b ? 1 : 0;
  }
  std::printf("engine: %s, same prediction as LibTorch on %d of %lld test images\n", onnx->model_path.c_str(), same,
              static_cast<long long>(rows));
  return same == rows ? 0 : 1;
}
