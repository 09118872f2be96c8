// The built-in trainer: one training loop (run_loop) behind `sparsify train`, --resume, --from
// (transfer learning) and fit() with a user's model and datasets.
#include "sparseml/train/trainer.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "sparseml/data/batches.h"
#include "sparseml/data/subset.h"
#include "sparseml/recipe/emit.h"
#include "sparseml/train/checkpoint.h"
#include "sparseml/train/fit.h"
#include "sparseml/train/manager.h"
#include "sparseml/train/transfer.h"
#include "zoo_client/zoo.h"

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

EvalResult evaluate_batches(models::Model& model, data::BatchIterator& it) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
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
  if (was_training) model.train();
  EvalResult r;
  r.count = seen;
  r.loss = seen ? loss / static_cast<double>(seen) : 0.0;
  r.accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  return r;
}

// One progress line per epoch; redrawn in place only on a terminal.
class Progress {
 public:
  Progress(bool enabled, int epoch, int epochs, std::int64_t batches)
      : enabled_(enabled), tty_(isatty(2) != 0), epoch_(epoch), epochs_(epochs), batches_(batches) {}
  /// True when update() for batch `done` would draw (so callers compute its numbers only then).
  bool wants(std::int64_t done) const { return enabled_ && tty_ && done % 10 == 0; }
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

StatusOr<std::unique_ptr<torch::optim::Optimizer>> make_optimizer(const std::string& name, models::Model& model, double lr) {
  if (name == "sgd")
    return std::unique_ptr<torch::optim::Optimizer>(
        std::make_unique<torch::optim::SGD>(model.parameters(), torch::optim::SGDOptions(lr).momentum(0.9)));
  if (name == "adam")
    return std::unique_ptr<torch::optim::Optimizer>(
        std::make_unique<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(lr)));
  return invalid_argument("--optimizer: unknown optimizer '", name, "'; valid: sgd, adam");
}

// Everything one training run needs.
struct Run {
  models::Model* model = nullptr;
  recipe::Recipe recipe;
  data::BatchIterator* train_it = nullptr;
  data::BatchIterator* test_it = nullptr;
  FitOptions options;
  std::int64_t train_limit = 0;
  std::string resume_dir;     // set: continue from this checkpoint
  int first_epoch = 0;
  std::vector<int> classes;   // recorded in checkpoints for --resume
  std::vector<std::string> freeze;
};

StatusOr<TrainResult> run_loop(Run& run) {
  models::Model& model = *run.model;
  const FitOptions& o = run.options;
  torch::set_num_threads(o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (run.recipe.num_epochs() < 1) return invalid_argument(run.recipe.file, ": the recipe trains for 0 epochs; add an EpochRangeModifier");
  const std::int64_t spe = run.train_it->num_batches();
  SPARSIFY_ASSIGN_OR_RETURN(std::unique_ptr<torch::optim::Optimizer> optimizer, make_optimizer(o.optimizer, model, o.lr));
  ModelQuantization quant(model);
  const std::vector<recipe::ParamInfo> params = models::describe_parameters(model);
  SPARSIFY_ASSIGN_OR_RETURN(std::unique_ptr<Manager> manager, Manager::create(run.recipe, model, *optimizer, spe, &quant, params));

  TrainResult result;
  for (const auto& d : recipe::lint_recipe(run.recipe, params)) {
    std::fprintf(stderr, "%s\n", d.to_string().c_str());
    result.warnings.push_back(d.to_string());
  }
  const bool write = !o.output_dir.empty();
  if (!run.resume_dir.empty()) {
    SPARSIFY_RETURN_IF_ERROR(load_checkpoint(run.resume_dir, model, *optimizer, *manager));
    std::fprintf(stderr, "resuming %s at epoch %d (step %lld)\n", run.resume_dir.c_str(), run.first_epoch,
                 static_cast<long long>(manager->step()));
  } else if (write) {
    SPARSIFY_RETURN_IF_ERROR(prepare_output_dir(o.output_dir, o.overwrite));
  }
  CheckpointState state;
  const models::ModelConfig& cfg = model.config();
  state.model = {cfg.arch, cfg.num_classes, cfg.in_channels, cfg.image_size};
  state.batch_size = o.batch_size;
  state.optimizer = o.optimizer;
  state.lr = o.lr;
  state.seed = o.seed;
  state.data_dir = o.data_dir;
  state.train_limit = run.train_limit;
  state.steps_per_epoch = spe;
  state.recipe_source = o.recipe_source;
  state.classes = run.classes;
  state.freeze = run.freeze;
  const std::string recipe_yaml = recipe::to_yaml(run.recipe);

  const int epochs = manager->num_epochs();
  double train_seconds = 0;
  std::int64_t train_images = 0;
  EvalResult eval;
  model.train();
  for (int epoch = run.first_epoch; epoch < epochs; ++epoch) {
    run.train_it->start_epoch(epoch);
    Progress progress(o.progress, epoch, epochs, spe);
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0, done = 0;
    const auto t0 = Clock::now();
    while (auto b = run.train_it->next()) {
      SPARSIFY_RETURN_IF_ERROR(manager->begin_step());
      torch::Tensor logits = model.forward(b->images);
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
      if (progress.wants(done))  // the sparsity scan is not free: only when a line is drawn
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
    eval = evaluate_batches(model, *run.test_it);
    if (o.progress)
      std::fprintf(stderr, "  test loss %.4f acc %.2f%%  (%.1f s, %.0f images/s)\n", eval.loss, 100 * eval.accuracy, seconds,
                   seconds > 0 ? static_cast<double>(seen) / seconds : 0.0);
    if (epoch + 1 == epochs) manager->finalize();
    if (!write) continue;
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
    SPARSIFY_ASSIGN_OR_RETURN(result.last_checkpoint,
                              write_checkpoint(o.output_dir, state, recipe_yaml, model, *optimizer, *manager));
    SPARSIFY_RETURN_IF_ERROR(append_metrics(o.output_dir, metrics.dump()));
  }
  if (run.first_epoch >= epochs) {
    eval = evaluate_batches(model, *run.test_it);
    result.last_checkpoint = run.resume_dir;
  }

  result.output_dir = o.output_dir;
  result.epochs = epochs;
  result.test_accuracy = eval.accuracy;
  result.test_loss = eval.loss;
  result.pruned_sparsity = manager->overall_pruned_sparsity();
  result.train_images_per_second = train_seconds > 0 ? static_cast<double>(train_images) / train_seconds : 0.0;
  std::map<std::string, bool> quantized;
  if (model.qat().enabled())
    for (const auto& layer : model.qat().layers())
      if (layer.weight) quantized[layer.name + ".weight"] = true;
  double zeros = 0, total = 0;
  auto named = model.named_parameters();
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
  if (o.progress) {
    std::fprintf(stderr, "\n%-40s %-20s %9s  %s\n", "layer", "shape", "sparsity", "quantized");
    for (const auto& row : result.layers) {
      std::string shape;
      for (auto d : row.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
      std::fprintf(stderr, "%-40s %-20s %8.2f%%  %s\n", row.name.c_str(), shape.c_str(), 100 * row.sparsity,
                   row.quantized ? "int8" : "no");
    }
  }
  return result;
}

StatusOr<data::BatchIterator> make_iterator(std::shared_ptr<const data::ImageDataset> ds, std::int64_t batch, bool shuffle,
                                            std::uint64_t seed, std::int64_t limit) {
  data::BatchOptions bo;
  bo.batch_size = batch;
  bo.shuffle = shuffle;
  bo.seed = seed;
  SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator it, data::BatchIterator::create(std::move(ds), bo));
  if (limit > 0) it = it.subset(limit);
  return it;
}

StatusOr<TrainResult> train_impl(TrainOptions o) {
  // ---- What to run: a fresh run, a transfer from a checkpoint, or the rest of a checkpoint ----
  CheckpointState resume_state;
  recipe::Recipe recipe;
  if (!o.resume.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(o.resume, resolve_checkpoint_dir(o.resume));
    SPARSIFY_ASSIGN_OR_RETURN(resume_state, read_checkpoint_state(o.resume));
    SPARSIFY_ASSIGN_OR_RETURN(recipe, recipe::parse_recipe_file((fs::path(o.resume) / "recipe.yaml").string()));
    o.model = resume_state.model.arch;
    o.num_classes = resume_state.model.num_classes;
    o.batch_size = resume_state.batch_size;
    o.optimizer = resume_state.optimizer;
    o.lr = resume_state.lr;
    o.seed = resume_state.seed;
    if (o.data_dir.empty()) o.data_dir = resume_state.data_dir;
    if (o.output_dir.empty()) o.output_dir = fs::path(o.resume).parent_path().parent_path().string();
    o.train_limit = resume_state.train_limit;
    o.recipe = resume_state.recipe_source;
    o.classes = resume_state.classes;
    o.freeze = resume_state.freeze;
    o.from.clear();
  } else {
    if (o.recipe.empty()) return invalid_argument("--recipe is required (or --resume a checkpoint)");
    if (zoo::is_stub(o.recipe)) {  // zoo:STUB[?recipe_type=transfer_learn]
      SPARSIFY_ASSIGN_OR_RETURN(o.recipe, zoo::fetch_recipe(o.recipe));
    }
    if (zoo::is_stub(o.from)) {  // a zoo model's training checkpoint (training/ in the model folder)
      SPARSIFY_ASSIGN_OR_RETURN(std::string dir, zoo::fetch_model(o.from));
      o.from = (fs::path(dir) / "training").string();
    }
    recipe::VariableOverrides overrides;
    if (!o.recipe_args.empty()) {
      SPARSIFY_ASSIGN_OR_RETURN(overrides, recipe::parse_recipe_args(o.recipe_args));
    }
    SPARSIFY_ASSIGN_OR_RETURN(recipe, recipe::parse_recipe_file(o.recipe, overrides));
  }
  torch::manual_seed(o.seed);

  // ---- Data ----------------------------------------------------------------------------------
  if (o.data_dir.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(o.data_dir, data::find_data_dir("mnist"));
  }
  SPARSIFY_ASSIGN_OR_RETURN(data::ImageDataset train_set, data::load_mnist(o.data_dir, data::Split::kTrain));
  SPARSIFY_ASSIGN_OR_RETURN(data::ImageDataset test_set, data::load_mnist(o.data_dir, data::Split::kTest));
  if (!o.classes.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(train_set, data::select_classes(train_set, o.classes));
    SPARSIFY_ASSIGN_OR_RETURN(test_set, data::select_classes(test_set, o.classes));
  }
  if (train_set.rows != test_set.rows || train_set.cols != test_set.cols)
    return invalid_argument(o.data_dir, ": train images are ", train_set.rows, "x", train_set.cols, ", test images ",
                            test_set.rows, "x", test_set.cols);
  const std::int64_t data_classes = std::max(train_set.num_classes, test_set.num_classes);
  if (o.num_classes == 0) o.num_classes = data_classes;
  if (o.num_classes < data_classes)
    return invalid_argument("--num-classes ", o.num_classes, " is fewer than the ", data_classes, " classes in ", o.data_dir);
  const std::int64_t rows = train_set.rows;
  SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator train_it,
                            make_iterator(std::make_shared<const data::ImageDataset>(std::move(train_set)), o.batch_size,
                                          /*shuffle=*/true, o.seed, o.train_limit));
  SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator test_it,
                            make_iterator(std::make_shared<const data::ImageDataset>(std::move(test_set)), 1000,
                                          /*shuffle=*/false, o.seed, o.test_limit));

  // ---- Model ---------------------------------------------------------------------------------
  std::shared_ptr<models::Model> model;
  if (!o.from.empty()) {
    std::vector<std::string> replaced;
    SPARSIFY_ASSIGN_OR_RETURN(model, load_model(o.from, o.num_classes, &replaced));
    if (!replaced.empty()) {
      std::string names;
      for (const auto& n : replaced) names += (names.empty() ? "" : ", ") + n;
      std::fprintf(stderr, "transfer: new %lld-class head (%s); every other weight from %s\n",
                   static_cast<long long>(o.num_classes), names.c_str(), o.from.c_str());
    }
  } else {
    models::ModelConfig cfg;
    cfg.arch = o.model;
    cfg.num_classes = o.num_classes;
    cfg.in_channels = 1;
    cfg.image_size = rows;
    SPARSIFY_ASSIGN_OR_RETURN(model, models::create_model(cfg));
  }
  if (model->input_dtype() != torch::kFloat)
    return invalid_argument("--model ", model->config().arch, " takes token ids; `sparsify train` trains image classifiers on IDX data");
  for (const auto& pattern : o.freeze) {
    SPARSIFY_ASSIGN_OR_RETURN(int n, set_trainable(*model, pattern, /*trainable=*/false));
    std::fprintf(stderr, "frozen: %d parameter%s matching '%s'\n", n, n == 1 ? "" : "s", pattern.c_str());
  }

  Run run;
  run.model = model.get();
  run.recipe = std::move(recipe);
  run.train_it = &train_it;
  run.test_it = &test_it;
  run.train_limit = o.train_limit;
  run.classes = o.classes;
  run.freeze = o.freeze;
  run.options.batch_size = o.batch_size;
  run.options.optimizer = o.optimizer;
  run.options.lr = o.lr;
  run.options.threads = o.threads;
  run.options.seed = o.seed;
  run.options.output_dir = o.output_dir.empty()
                               ? (fs::path("out") / (model->config().arch + "-" + fs::path(o.recipe).stem().string())).string()
                               : o.output_dir;
  run.options.overwrite = o.overwrite;
  run.options.progress = o.progress;
  run.options.recipe_source = o.recipe;
  run.options.data_dir = o.data_dir;
  if (!o.resume.empty()) {
    run.resume_dir = o.resume;
    run.first_epoch = resume_state.epoch;
  }
  return run_loop(run);
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

StatusOr<TrainResult> fit(models::Model& model, const recipe::Recipe& recipe, std::shared_ptr<const data::ImageDataset> train,
                          std::shared_ptr<const data::ImageDataset> test, const FitOptions& options) {
  try {
    if (!train || !test) return invalid_argument("fit: train and test datasets are required");
    SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator train_it, make_iterator(std::move(train), options.batch_size, true, options.seed, 0));
    SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator test_it, make_iterator(std::move(test), 1000, false, options.seed, 0));
    Run run;
    run.model = &model;
    run.recipe = recipe;
    run.train_it = &train_it;
    run.test_it = &test_it;
    run.options = options;
    return run_loop(run);
  } catch (const c10::Error& e) {
    return internal_error("fit: LibTorch: ", e.what_without_backtrace());
  }
}

StatusOr<EvalResult> evaluate(models::Model& model, const data::ImageDataset& dataset, std::int64_t batch_size) {
  try {
    auto shared = std::make_shared<const data::ImageDataset>(dataset);
    SPARSIFY_ASSIGN_OR_RETURN(data::BatchIterator it, make_iterator(shared, batch_size, false, 0, 0));
    return evaluate_batches(model, it);
  } catch (const c10::Error& e) {
    return internal_error("evaluate: LibTorch: ", e.what_without_backtrace());
  }
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& m : models::model_table()) out.push_back(m.name);
  return out;
}

}  // namespace sparsify::ml
