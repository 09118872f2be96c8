// Recipes: parse SparseML YAML recipes (.yaml, or .md with YAML front matter) into typed modifiers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "sparseml/recipe/value.h"

namespace sparsify::ml::recipe {

enum class ModifierKind : std::uint8_t {
#define SPARSIFY_MODIFIER(Name, Category, Keys) k##Name,
#include "sparseml/recipe/modifiers.def"
#undef SPARSIFY_MODIFIER
};

enum class ModifierCategory : std::uint8_t { kSchedule, kLearningRate, kWeightDecay, kPruning, kQuantization, kDistillation };

/// The value types a modifier key may take (see modifiers.def).
enum class FieldType : std::uint8_t { kEpoch, kNumber, kInt, kBool, kString, kStrings, kSparsity, kMaskType, kMap, kAny };

/// One key of a modifier as declared in modifiers.def.
struct FieldSpec {
  const char* key;
  FieldType type;
  bool required;
};

/// One row of modifiers.def.
struct ModifierSpec {
  ModifierKind kind;
  const char* name;
  ModifierCategory category;
  const FieldSpec* fields;
  std::size_t num_fields;
};

/// All modifiers, in modifiers.def order.
const std::vector<ModifierSpec>& modifier_specs();
/// The spec of a modifier type name ("GMPruningModifier"), or nullptr.
const ModifierSpec* find_modifier_spec(std::string_view name);
const ModifierSpec& modifier_spec(ModifierKind kind);
const char* field_type_name(FieldType type);

/// Interpolation of a pruning schedule between start and end (ref: Zhu & Gupta 2017 for cubic).
enum class InterFunc : std::uint8_t { kLinear, kCubic, kInverseCubic };
const char* inter_func_name(InterFunc f);

/// Shape of the pruning mask: unstructured, blocks of rows x cols scored by block magnitude, or N:M.
struct MaskType {
  enum class Kind : std::uint8_t { kUnstructured, kBlock, kNM } kind = Kind::kUnstructured;
  int rows = 1, cols = 1;  // kBlock: block shape, [1,4] = four consecutive input channels
  int n = 0, m = 0;        // kNM: n non-zeros kept in every m consecutive weights
  std::string to_string() const;  // "unstructured", "[1,4]", "2:4"
};

/// Final sparsity for a group of params (a GMP modifier with a sparsity map has several).
struct PruneTarget {
  double final_sparsity = 0.0;
  std::vector<std::string> params;  // exact names, "re:<regex>", "__ALL__", "__ALL_PRUNABLE__"
};

/// Quantization settings with SparseML's defaults.
struct QuantSettings {
  std::vector<std::string> submodules;           // empty = whole model
  double disable_observer_epoch = -1;            // -1: never
  double freeze_bn_stats_epoch = -1;             // -1: never
  bool quantize_conv_activations = true;
  bool quantize_linear_activations = true;
  bool quantize_embeddings = true;
  bool reduce_range = false;
  bool exclude_batchnorm = true;
  std::vector<std::string> exclude_module_types;
  int activation_bits = 8;
  int weight_bits = 8;
  std::int64_t num_calibration_steps = -1;       // -1: not set
};

/// A learning-rate rule as SparseML applies it.
struct LrSettings {
  std::string func;                  // LearningRateFunctionModifier: linear | cosine | cyclic_linear
  std::string lr_class;              // LearningRateModifier: StepLR | MultiStepLR | ExponentialLR
  double learning_rate = 0.0;        // SetLearningRateModifier
  double init_lr = 0.0, final_lr = 0.0;
  double cycle_epochs = 1.0;
  double step_size = 0.0;            // StepLR, epochs
  double gamma = 0.1;                // StepLR, MultiStepLR, ExponentialLR
  std::vector<double> milestones;    // MultiStepLR, absolute epochs
};

/// One modifier after variables are resolved and keys validated.
struct Modifier {
  ModifierKind kind{};
  std::string type_name;             // "GMPruningModifier"
  std::string stage;                 // stage name; empty for single-stage recipes
  SourceLoc loc;                     // the modifier's tag in the recipe
  std::vector<std::pair<std::string, Value>> fields;  // resolved keys as written (for show/save)

  double start_epoch = -1.0;         // -1: from the beginning
  double end_epoch = -1.0;           // -1: never ends
  double update_frequency = -1.0;    // epochs; -1: every optimizer step

  // Pruning.
  std::vector<PruneTarget> targets;  // one per final sparsity
  double init_sparsity = 0.05;
  InterFunc inter_func = InterFunc::kCubic;
  MaskType mask;
  bool leave_enabled = true;
  bool global_sparsity = false;      // GlobalMagnitudePruningModifier, or global_sparsity: true

  LrSettings lr;
  double weight_decay = 0.0;
  QuantSettings quant;
  double hardness = 0.5, temperature = 2.0;  // distillation

  ModifierCategory category() const { return modifier_spec(kind).category; }
  /// All param patterns of a pruning modifier, across targets.
  std::vector<std::string> all_params() const;
  /// "GMPruningModifier at recipes/x.yaml:7:7"
  std::string describe() const;
};

/// A recipe stage (multi-stage recipes); single-stage recipes have none.
struct Stage {
  std::string name;
  std::vector<std::pair<std::string, Value>> variables;  // resolved, stage-local
};

/// A parsed recipe.
struct Recipe {
  std::string file;                                      // path, or "<string>"
  std::vector<std::pair<std::string, Value>> variables;  // resolved top-level variables
  std::vector<Stage> stages;
  std::vector<Modifier> modifiers;                       // in file order, across stages
  std::vector<std::string> notes;                        // informational (e.g. legacy keys ignored)

  bool staged() const { return !stages.empty(); }
  /// The last epoch any modifier names (SparseML's max_epochs): where training ends.
  double end_epoch() const;
  /// Number of whole epochs training runs: ceil(end_epoch()), at least 0.
  int num_epochs() const;
  const Value* find_variable(const std::string& name) const;
};

/// Variable overrides, e.g. from `--recipe-args '{"num_epochs": 5}'`.
using VariableOverrides = std::vector<std::pair<std::string, Value>>;

/// Parses a JSON object of overrides. Errors name the argument and what was expected.
StatusOr<VariableOverrides> parse_recipe_args(std::string_view json);

/// Reads and parses a recipe file (.yaml/.yml, or .md with YAML front matter).
/// Errors are invalid_argument/io_error/not_found with "file:line:col: ..." messages.
StatusOr<Recipe> parse_recipe_file(const std::string& path, const VariableOverrides& overrides = {});

/// Parses recipe text; `file` is used in messages; `line_offset` is added to reported lines.
StatusOr<Recipe> parse_recipe_text(std::string_view text, const std::string& file,
                                   const VariableOverrides& overrides = {}, int line_offset = 0);

}  // namespace sparsify::ml::recipe
