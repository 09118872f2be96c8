// The built-in trainer: loads data and model, runs the recipe through the Manager, evaluates,
// writes checkpoints atomically, and resumes from them exactly.
#include "sparseml/train/trainer.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <nlohmann/json.hpp>

#include "sparseml/data/batches.h"
#include "sparseml/data/mnist.h"
#include "sparseml/models/models.h"
#include "sparseml/recipe/emit.h"
#include "sparseml/train/checkpoint.h"
#include "sparseml/train/manager.h"

namespace sparsify::ml {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Lets the Manager drive a model's QatContext.
class ModelQuantization final : public QuantizationControl {
 public:
  explicit ModelQuantization(models::Model& m) : model_(m) {}
  Status enable_quantization(const recipe::QuantSettings& s) override {
    if (model_.qat().enabled()) return Status();
    return model_.qat().enable(s);
  }
  void disable_observers() override { model_.qat().disable_observers(); }
  void freeze_bn_stats() override { model_.qat().freeze_bn_stats(); }

 private:
  models::Model& model_;
};

struct EvalResult {
  double loss = 0, accuracy = 0;
};

EvalResult evaluate(models::Model& model, data::BatchIterator& it) {
  torch::NoGradGuard no_grad;
  model.eval();
  // Observers also observe in eval mode: evaluating must not move the quantization ranges.
  const bool observers_were_on = model.qat().enabled() && model.qat().observers_enabled();
  if (observers_were_on) model.qat().disable_observers();
  double loss = 0;
  std::int64_t correct = 0, seen = 0;
  it.start_epoch(0);
  while (auto b = it.next()) {
    torch::Tensor logits = model.forward(b->images);
    loss += torch::nn::functional::cross_entropy(logits, b->labels,
                                                 torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += logits.argmax(1).eq(b->labels).sum().item<std::int64_t>();
    seen += b->labels.size(0);
  }
  if (observers_were_on) model.qat().enable_observers();
  model.train();
  return {seen ? loss / static_cast<double>(seen) : 0.0, seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0};
}

// One progress line per epoch; redrawn in place only on a terminal.
class Progress {
 public:
  Progress(bool enabled, int epoch, int epochs, std::int64_t batches)
      : enabled_(enabled), tty_(isatty(2) != 0), epoch_(epoch), epochs_(epochs), batches_(batches) {}
  void update(std::int64_t done, double loss, double acc, double lr, double sparsity, bool quant, bool final_line) {
    if (!enabled_ || (!tty_ && !final_line)) return;
    if (!final_line && done % 10 != 0) return;
    const int width = 24;
    const int fill = batches_ ? static_cast<int>(width * done / batches_) : width;
    std::fprintf(stderr, "%sepoch %d/%d [%s%s] %lld/%lld loss %.4f acc %.2f%% lr %.3g sparsity %.1f%%%s%s",
                 tty_ ? "\r" : "", epoch_ + 1, epochs_, std::string(fill, '=').c_str(), std::string(width - fill, ' ').c_str(),
                 static_cast<long long>(done), static_cast<long long>(batches_), loss, 100 * acc, lr, 100 * sparsity,
                 quant ? " qat" : "", final_line ? "\n" : "");
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  int epoch_, epochs_;
  std::int64_t batches_;
};

std::string default_output_dir(const TrainOptions& o) {
  std::string stem = fs::path(o.recipe.empty() ? "resume" : o.recipe).stem().string();
  return (fs::path("out") / (o.model + "-" + stem)).string();
}

StatusOr<std::unique_ptr<torch::optim::Optimizer>> make_optimizer(const std::string& name, models::Model& model, double lr) {
  if (name == "sgd")
    return std::unique_ptr<torch::optim::Optimizer>(
        std::make_unique<torch::optim::SGD>(model.parameters(), torch::optim::SGDOptions(lr).momentum(0.9)));
  if (name == "adam")
    return std::unique_ptr<torch::optim::Optimizer>(
        std::make_unique<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(lr)));
  return invalid_argument("--optimizer: unknown optimizer '", name, "'; valid: sgd, adam");
}

StatusOr<TrainResult> train_impl(TrainOptions o) {
  // ---- What to run: a fresh run, or the state of a checkpoint -------------------------------
  CheckpointState resume_state;
  recipe::Recipe recipe;
  if (!o.resume.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(o.resume, resolve_checkpoint_dir(o.resume));
    SPARSIFY_ASSIGN_OR_RETURN(resume_state, read_checkpoint_state(o.resume));
    SPARSIFY_ASSIGN_OR_RETURN(recipe, recipe::parse_recipe_file((fs::path(o.resume) / "recipe.yaml").string()));
    o.model = resume_state.model.arch;
    o.batch_size = resume_state.batch_size;
    o.optimizer = resume_state.optimizer;
    o.lr = resume_state.lr;
    o.seed = resume_state.seed;
    if (o.data_dir.empty()) o.data_dir = resume_state.data_dir;
    if (o.output_dir.empty()) o.output_dir = fs::path(o.resume).parent_path().parent_path().string();
    o.train_limit = resume_state.train_limit;
  } else {
    if (o.recipe.empty()) return invalid_argument("--recipe is required (or --resume a checkpoint)");
    recipe::VariableOverrides overrides;
    if (!o.recipe_args.empty()) {
      SPARSIFY_ASSIGN_OR_RETURN(overrides, recipe::parse_recipe_args(o.recipe_args));
    }
    SPARSIFY_ASSIGN_OR_RETURN(recipe, recipe::parse_recipe_file(o.recipe, overrides));
  }
  if (recipe.num_epochs() < 1) return invalid_argument(recipe.file, ": the recipe trains for 0 epochs; add an EpochRangeModifier");

  torch::set_num_threads(o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  torch::manual_seed(o.seed);

  // ---- Data ----------------------------------------------------------------------------------
  if (o.data_dir.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(o.data_dir, data::find_data_dir("mnist"));
  }
  SPARSIFY_ASSIGN_OR_RETURN(data::ImageDataset train_set, data::load_mnist(o.data_dir, data::Split::kTrain));
  SPARSIFY_ASSIGN_OR_RETURN(data::ImageDataset test_set, data::load_mnist(o.data_dir, data::Split::kTest));
  const int num_classes = std::max(train_set.num_classes, test_set.num_classes);
  if (train_set.rows != test_set.rows || train_set.cols != test_set.cols)
    return invalid_argument(o.data_dir, ": train images are ", train_set.rows, "x", train_set.cols, ", test images ",
                            test_set.rows, "x", test_set.cols);
  data::BatchOptions train_opts;
  train_opts.batch_size = o.batch_size;
  train_opts.seed = o.seed;
  SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator train_it,
                            data::BatchIterator::create(std::make_shared<const data::ImageDataset>(std::move(train_set)), train_opts));
  if (o.train_limit > 0) train_it = train_it.subset(o.train_limit);
  data::BatchOptions test_opts;
  test_opts.batch_size = 1000;
  test_opts.shuffle = false;
  SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator test_it,
                            data::BatchIterator::create(std::make_shared<const data::ImageDataset>(std::move(test_set)), test_opts));
  if (o.test_limit > 0) test_it = test_it.subset(o.test_limit);
  const std::int64_t spe = train_it.num_batches();

  // ---- Model, optimizer, manager -------------------------------------------------------------
  models::ModelConfig cfg;
  cfg.arch = o.model;
  cfg.num_classes = num_classes;
  cfg.in_channels = 1;
  cfg.image_size = train_it.dataset().rows;
  SPARSIFY_ASSIGN_OR_RETURN(std::shared_ptr<models::Model> model, models::create_model(cfg));
  if (model->input_dtype() != torch::kFloat)
    return invalid_argument("--model ", o.model, " takes token ids; `sparsify train` trains image classifiers on IDX data");
  SPARSIFY_ASSIGN_OR_RETURN(std::unique_ptr<torch::optim::Optimizer> optimizer, make_optimizer(o.optimizer, *model, o.lr));
  ModelQuantization quant(*model);
  const std::vector<recipe::ParamInfo> params = models::describe_parameters(*model);
  SPARSIFY_ASSIGN_OR_RETURN(std::unique_ptr<Manager> manager, Manager::create(recipe, *model, *optimizer, spe, &quant, params));

  TrainResult result;
  for (const auto& d : recipe::lint_recipe(recipe, params)) {
    std::fprintf(stderr, "%s\n", d.to_string().c_str());
    result.warnings.push_back(d.to_string());
  }

  // ---- Output dir and resume -------------------------------------------------------------------
  if (o.output_dir.empty()) o.output_dir = default_output_dir(o);
  int first_epoch = 0;
  if (!o.resume.empty()) {
    SPARSIFY_RETURN_IF_ERROR(load_checkpoint(o.resume, *model, *optimizer, *manager));
    first_epoch = resume_state.epoch;
    std::fprintf(stderr, "resuming %s at epoch %d (step %lld)\n", o.resume.c_str(), first_epoch,
                 static_cast<long long>(manager->step()));
  } else {
    SPARSIFY_RETURN_IF_ERROR(prepare_output_dir(o.output_dir, o.overwrite));
  }
  CheckpointState state;
  state.model = {cfg.arch, cfg.num_classes, cfg.in_channels, cfg.image_size};
  state.batch_size = o.batch_size;
  state.optimizer = o.optimizer;
  state.lr = o.lr;
  state.seed = o.seed;
  state.data_dir = o.data_dir;
  state.train_limit = o.train_limit;
  state.steps_per_epoch = spe;
  state.recipe_source = o.resume.empty() ? o.recipe : resume_state.recipe_source;
  const std::string recipe_yaml = recipe::to_yaml(recipe);

  // ---- Train -----------------------------------------------------------------------------------
  const int epochs = manager->num_epochs();
  double train_seconds = 0;
  std::int64_t train_images = 0;
  EvalResult eval;
  model->train();
  for (int epoch = first_epoch; epoch < epochs; ++epoch) {
    train_it.start_epoch(epoch);
    Progress progress(o.progress, epoch, epochs, spe);
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0, done = 0;
    const auto t0 = Clock::now();
    while (auto b = train_it.next()) {
      SPARSIFY_RETURN_IF_ERROR(manager->begin_step());
      torch::Tensor logits = model->forward(b->images);
      torch::Tensor loss = torch::nn::functional::cross_entropy(logits, b->labels);
      optimizer->zero_grad();
      loss.backward();
      manager->mask_gradients();
      optimizer->step();
      manager->end_step();
      const std::int64_t n = b->labels.size(0);
      loss_sum += loss.item<double>() * static_cast<double>(n);
      correct += logits.argmax(1).eq(b->labels).sum().item<std::int64_t>();
      seen += n;
      ++done;
      progress.update(done, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
                      manager->learning_rate(), manager->overall_pruned_sparsity(), manager->quantization_active(), false);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    train_seconds += seconds;
    train_images += seen;
    const double train_loss = seen ? loss_sum / static_cast<double>(seen) : 0.0;
    const double train_acc = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
    progress.update(done, train_loss, train_acc, manager->learning_rate(), manager->overall_pruned_sparsity(),
                    manager->quantization_active(), true);
    eval = evaluate(*model, test_it);
    std::fprintf(stderr, "  test loss %.4f acc %.2f%%  (%.1f s, %.0f images/s)\n", eval.loss, 100 * eval.accuracy, seconds,
                 seconds > 0 ? static_cast<double>(seen) / seconds : 0.0);

    nlohmann::json metrics = {{"epoch", epoch + 1},
                              {"step", manager->step()},
                              {"train_loss", train_loss},
                              {"train_accuracy", train_acc},
                              {"test_loss", eval.loss},
                              {"test_accuracy", eval.accuracy},
                              {"lr", manager->learning_rate()},
                              {"pruned_sparsity", manager->overall_pruned_sparsity()},
                              {"quantization", manager->quantization_active()},
                              {"seconds", seconds},
                              {"images_per_second", seconds > 0 ? static_cast<double>(seen) / seconds : 0.0}};
    state.epoch = epoch + 1;
    state.step = manager->step();
    state.metrics = metrics.dump();
    if (epoch + 1 == epochs) manager->finalize();
    SPARSIFY_ASSIGN_OR_RETURN(result.last_checkpoint,
                              write_checkpoint(o.output_dir, state, recipe_yaml, *model, *optimizer, *manager));
    SPARSIFY_RETURN_IF_ERROR(append_metrics(o.output_dir, metrics.dump()));
  }
  if (first_epoch >= epochs) {
    eval = evaluate(*model, test_it);
    result.last_checkpoint = o.resume;
  }

  // ---- Summary ---------------------------------------------------------------------------------
  result.output_dir = o.output_dir;
  result.epochs = epochs;
  result.test_accuracy = eval.accuracy;
  result.test_loss = eval.loss;
  result.pruned_sparsity = manager->overall_pruned_sparsity();
  result.train_images_per_second = train_seconds > 0 ? static_cast<double>(train_images) / train_seconds : 0.0;
  std::map<std::string, bool> quantized;
  if (model->qat().enabled())
    for (const auto& layer : model->qat().layers())
      if (layer.weight) quantized[layer.name + ".weight"] = true;
  double zeros = 0, total = 0;
  auto named = model->named_parameters();
  for (const auto& p : params) {
    if (!p.prunable) continue;
    const torch::Tensor& w = named[p.name];
    LayerSummary row;
    row.name = p.name;
    row.shape = p.shape;
    row.sparsity = (w == 0).sum().item<double>() / static_cast<double>(w.numel());
    row.quantized = quantized.count(p.name) > 0;
    zeros += row.sparsity * static_cast<double>(w.numel());
    total += static_cast<double>(w.numel());
    result.layers.push_back(row);
  }
  result.prunable_sparsity = total > 0 ? zeros / total : 0.0;
  std::fprintf(stderr, "\n%-40s %-20s %9s  %s\n", "layer", "shape", "sparsity", "quantized");
  for (const auto& row : result.layers) {
    std::string shape;
    for (auto d : row.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    std::fprintf(stderr, "%-40s %-20s %8.2f%%  %s\n", row.name.c_str(), shape.c_str(), 100 * row.sparsity,
                 row.quantized ? "int8" : "no");
  }
  return result;
}

}  // namespace

StatusOr<TrainResult> train(const TrainOptions& options) {
  try {
    return train_impl(options);
  } catch (const c10::Error& e) {
    return internal_error("LibTorch: ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    return internal_error(e.what());
  }
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& m : models::model_table()) out.push_back(m.name);
  return out;
}

}  // namespace sparsify::ml
