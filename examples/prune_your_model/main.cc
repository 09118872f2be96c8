// Prunes a user-defined torch::nn model with a recipe, in a plain hand-written training loop.
//   example_prune_your_model RECIPE [TRAIN_IMAGES=60000] [EPOCHS from the recipe]
#include <torch/torch.h>

#include <cstdio>
#include <cmath>
#include <cstdlib>

#include "sparseml/data/batches.h"
#include "sparseml/data/mnist.h"
#include "sparseml/recipe/recipe.h"
#include "sparseml/train/manager.h"

namespace data = sparsify::ml::data;
namespace recipe = sparsify::ml::recipe;

// Your model: any torch::nn::Module. Conv and Linear weights are what recipes can prune.
struct MyNetImpl : torch::nn::Module {
  torch::nn::Sequential features{torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)), torch::nn::ReLU(),
                                 torch::nn::MaxPool2d(2),
                                 torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)), torch::nn::ReLU(),
                                 torch::nn::MaxPool2d(2)};
  torch::nn::Linear head{32 * 7 * 7, 10};
  MyNetImpl() {
    register_module("features", features);
    register_module("head", head);
  }
  torch::Tensor forward(torch::Tensor x) { return head(features->forward(x).flatten(1)); }
};
TORCH_MODULE(MyNet);

int fail(const sparsify::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.to_string().c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: %s RECIPE [TRAIN_IMAGES] [EPOCHS]\n", argv[0]), 2;
  const std::int64_t limit = argc > 2 ? std::atoll(argv[2]) : 0;
  recipe::VariableOverrides overrides;
  if (argc > 3) overrides.emplace_back("num_epochs", recipe::Value::real(std::atof(argv[3])));
  auto r = recipe::parse_recipe_file(argv[1], overrides);
  if (!r.ok()) return fail(r.status());

  torch::manual_seed(0);
  torch::set_num_threads(2);
  auto dir = data::find_data_dir("mnist");
  if (!dir.ok()) return fail(dir.status());
  auto train = data::load_mnist(*dir, data::Split::kTrain);
  auto test = data::load_mnist(*dir, data::Split::kTest);
  if (!train.ok()) return fail(train.status());
  if (!test.ok()) return fail(test.status());
  data::BatchOptions bo;
  bo.batch_size = 64;
  auto batches = data::BatchIterator::create(std::make_shared<const data::ImageDataset>(std::move(*train)), bo).value();
  if (limit > 0) batches = batches.subset(limit);

  MyNet model;
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  // The manager turns the recipe into per-step actions on this model and optimizer.
  auto manager = sparsify::ml::Manager::create(*r, *model, optimizer, batches.num_batches());
  if (!manager.ok()) return fail(manager.status());
  sparsify::ml::Manager& m = **manager;

  for (int epoch = 0; epoch < m.num_epochs(); ++epoch) {
    batches.start_epoch(epoch);
    double loss_sum = 0;
    int n = 0;
    while (auto b = batches.next()) {
      if (auto s = m.begin_step(); !s.ok()) return fail(s);  // lr and masks due at this step
      auto loss = torch::nn::functional::cross_entropy(model->forward(b->images), b->labels);
      optimizer.zero_grad();
      loss.backward();
      m.mask_gradients();                                      // pruned weights get no gradient
      optimizer.step();
      m.end_step();                                            // and stay exactly zero
      loss_sum += loss.item<double>();
      ++n;
    }
    std::printf("epoch %d: loss %.4f, lr %.4g, pruned sparsity %.1f %%\n", epoch + 1, loss_sum / n, m.learning_rate(),
                100 * m.overall_pruned_sparsity());
  }
  m.finalize();

  torch::NoGradGuard no_grad;
  model->eval();
  auto test_batches = data::BatchIterator::create(std::make_shared<const data::ImageDataset>(std::move(*test)), bo).value();
  std::int64_t correct = 0, seen = 0;
  while (auto b = test_batches.next()) {
    correct += model->forward(b->images).argmax(1).eq(b->labels).sum().item<std::int64_t>();
    seen += b->labels.size(0);
  }
  for (const auto& p : m.pruning_state())
    std::printf("  %-20s sparsity %.2f %% (target %.2f %%)\n", p.name.c_str(), 100 * p.sparsity, 100 * p.target);
  std::printf("test accuracy %.2f %%\n", 100.0 * static_cast<double>(correct) / static_cast<double>(seen));
  // Every pruned layer must hold exactly round(target x weights) zeros.
  for (const auto& p : m.pruning_state()) {
    double n = 1;
    for (auto d : p.shape) n *= static_cast<double>(d);
    if (std::llround(p.sparsity * n) != std::llround(p.target * n))
      return std::fprintf(stderr, "error: %s missed its target\n", p.name.c_str()), 1;
  }
  return 0;
}
