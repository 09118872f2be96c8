// The front door of sparsify's training side: one include for models, recipes, data, training
// (your own loop or the built-in one), transfer learning and ONNX export. Links sparsify_train
// and sparsify_export. Every call returns Status/StatusOr; none throws.
//
// The transfer flow, end to end (examples/transfer_learning/main.cc runs exactly this):
//
//   using namespace sparsify::ml;
//   // 1. A pruned model with a new head: architecture and weights (with their exact zeros) from a
//   //    checkpoint directory — e.g. a `sparsify train` output or a zoo model's training/ folder.
//   auto model = load_model("out/mnist_cnn-pruned90", /*num_classes=*/5).value();
//   set_trainable(*model, "re:conv1\\..*", false);                 // optional: freeze by pattern
//   // 2. Your data: IDX files, or any ImageDataset you fill yourself (uint8 images, labels).
//   auto train = data::select_classes(data::load_mnist(dir, data::Split::kTrain).value(), {0, 1, 2, 3, 4});
//   // 3. A transfer recipe: ConstantPruningModifier holds every zero while the model trains.
//   auto recipe = recipe::parse_recipe_file("recipes/mnist_cnn-transfer.yaml").value();
//   auto result = fit(*model, recipe, train_set, test_set, FitOptions{...}).value();  // or Manager in your loop
//   // 4. Deploy: ONNX with test data and a model card, then run it in the engine (engine/engine.h).
//   auto onnx = onnx_export::export_checkpoint({.checkpoint = result.last_checkpoint}).value();
#pragma once

#include "sparseml/data/mnist.h"          // IDX/MNIST datasets: load_mnist, load_idx_dataset, ImageDataset
#include "sparseml/data/subset.h"         // select_classes: a k-class task from a dataset
#include "sparseml/export/export.h"       // export_checkpoint: fp32 / qdq / int8 ONNX
#include "sparseml/models/models.h"       // create_model, model_table, describe_parameters
#include "sparseml/recipe/lint.h"         // lint_recipe, match_params
#include "sparseml/recipe/recipe.h"       // parse_recipe_file, parse_recipe_args
#include "sparseml/train/fit.h"           // fit, evaluate: the built-in training loop on your datasets
#include "sparseml/train/manager.h"       // Manager: a recipe applied inside your own training loop
#include "sparseml/train/trainer.h"       // train: everything `sparsify train` does
#include "sparseml/train/transfer.h"      // load_model (new head), set_trainable
