// `sparsify train`: train, prune and quantize a model as a recipe says.
#include <cstdio>

#include "apps/sparsify/cli.h"
#include "sparseml/train/trainer.h"

namespace sparsify::cli {
namespace {

int run_train(const ml::TrainOptions& o) {
  StatusOr<ml::TrainResult> r = ml::train(o);
  if (!r.ok()) return report_error(r.status(), "see `sparsify train --help` and docs/recipes.md");
  std::printf("test accuracy %.2f %%, pruned sparsity %.2f %% (all prunable weights %.2f %%), %.0f train images/s\n",
              100.0 * r->test_accuracy, 100.0 * r->pruned_sparsity, 100.0 * r->prunable_sparsity, r->train_images_per_second);
  std::printf("checkpoint: %s\n", r->last_checkpoint.c_str());
  return kExitOk;
}

}  // namespace

void add_train_command(CLI::App& app, CommandRunner* run) {
  auto o = std::make_shared<ml::TrainOptions>();
  std::string models;
  for (const auto& n : ml::model_names()) models += (models.empty() ? "" : ", ") + n;
  CLI::App* cmd = app.add_subcommand("train", "Train, prune and quantize a model as a recipe says");
  cmd->add_option("--recipe", o->recipe, "Recipe file (.yaml, or .md with YAML front matter) or zoo:STUB[?recipe_type=T]; not needed with --resume");
  cmd->add_option("--model", o->model, "Architecture: " + models)->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "MNIST-format IDX files (default: the MNIST set-up installed)");
  cmd->add_option("--batch-size", o->batch_size, "Batch size")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--optimizer", o->optimizer, "sgd (momentum 0.9) or adam")->capture_default_str()->check(CLI::IsMember({"sgd", "adam"}));
  cmd->add_option("--lr", o->lr, "Learning rate before any learning-rate modifier applies")->capture_default_str();
  cmd->add_option("--output-dir,-o", o->output_dir, "Where checkpoints and metrics go (default: out/<model>-<recipe>)");
  cmd->add_option("--recipe-args", o->recipe_args, "JSON object overriding recipe variables, e.g. '{\"num_epochs\": 5}'");
  cmd->add_option("--resume", o->resume, "Checkpoint directory to continue from");
  cmd->add_flag("--overwrite", o->overwrite, "Reuse an output dir that already holds a run");
  cmd->add_option("--threads", o->threads, "Intra-op threads (0: all cores)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed for initialization and shuffling")->capture_default_str();
  cmd->add_option("--train-limit", o->train_limit, "Use only the first N training images (0: all)");
  cmd->add_option("--test-limit", o->test_limit, "Evaluate on the first N test images (0: all)");
  cmd->add_option("--from", o->from, "Transfer learning: start from this checkpoint (or zoo:STUB) with its architecture and weights");
  cmd->add_option("--num-classes", o->num_classes, "Classifier size (default: from the data); a new size replaces the head");
  cmd->add_option("--classes", o->classes, "Keep only these labels, relabelled 0..k-1 (e.g. --classes 0,1,2,3,4)")->delimiter(',');
  cmd->add_option("--freeze", o->freeze, "Parameter pattern not to train (exact, re:<regex>, __ALL__); repeatable");
  cmd->callback([o, run]() { *run = [o]() { return run_train(*o); }; });
}

}  // namespace sparsify::cli
