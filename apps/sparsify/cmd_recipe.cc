// `sparsify recipe check|show`: validate and lint a recipe; print its variables, modifiers and schedule.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/sparsify/cli.h"
#include "sparseml/recipe/lint.h"
#include "sparseml/recipe/recipe.h"
#include "sparseml/recipe/schedule.h"

namespace sparsify::cli {
namespace {

using namespace sparsify::ml::recipe;

constexpr const char* kRecipeHint = "see docs/recipes.md for the recipe format and every modifier's keys";

struct RecipeOptions {
  std::string file;
  std::string recipe_args;
  bool warnings_as_errors = false;
  std::int64_t steps_per_epoch = 100;
  double base_lr = 0.0;
};

StatusOr<Recipe> load(const RecipeOptions& o) {
  VariableOverrides overrides;
  if (!o.recipe_args.empty()) {
    SPARSIFY_ASSIGN_OR_RETURN(overrides, parse_recipe_args(o.recipe_args));
  }
  return parse_recipe_file(o.file, overrides);
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

int run_check(const RecipeOptions& o) {
  StatusOr<Recipe> r = load(o);
  if (!r.ok()) return report_error(r.status(), kRecipeHint);
  const std::vector<Diagnostic> warnings = lint_recipe(*r);
  for (const auto& d : warnings) std::fprintf(stderr, "%s\n", d.to_string().c_str());
  std::printf("%s: ok: %zu modifiers%s, training runs %d epoch%s (ends at epoch %s), %zu warning%s\n", o.file.c_str(),
              r->modifiers.size(), r->staged() ? str_cat(" in ", r->stages.size(), " stages").c_str() : "",
              r->num_epochs(), r->num_epochs() == 1 ? "" : "s", fmt(r->end_epoch()).c_str(), warnings.size(),
              warnings.size() == 1 ? "" : "s");
  if (o.warnings_as_errors && !warnings.empty()) return kExitWarningsAsErrors;
  return kExitOk;
}

void print_modifier(size_t index, const Modifier& m) {
  std::printf("  [%zu] %s%s  (%s)\n", index, m.type_name.c_str(), m.stage.empty() ? "" : (" stage=" + m.stage).c_str(),
              m.loc.to_string().c_str());
  for (const auto& [k, v] : m.fields) std::printf("        %s: %s\n", k.c_str(), v.to_string().c_str());
}

int run_show(const RecipeOptions& o) {
  if (o.steps_per_epoch < 1) return report_error(invalid_argument("--steps-per-epoch must be >= 1, got ", o.steps_per_epoch));
  StatusOr<Recipe> parsed = load(o);
  if (!parsed.ok()) return report_error(parsed.status(), kRecipeHint);
  const Recipe& r = *parsed;
  std::printf("recipe: %s\n", r.file.c_str());
  std::printf("variables:\n");
  if (r.variables.empty()) std::printf("  (none)\n");
  for (const auto& [k, v] : r.variables) std::printf("  %s = %s\n", k.c_str(), v.to_string().c_str());
  for (const auto& s : r.stages) {
    std::printf("stage %s variables:\n", s.name.c_str());
    for (const auto& [k, v] : s.variables) std::printf("  %s = %s\n", k.c_str(), v.to_string().c_str());
  }
  std::printf("modifiers:\n");
  for (size_t i = 0; i < r.modifiers.size(); ++i) print_modifier(i, r.modifiers[i]);

  // Columns: one per pruning target (modifier × final sparsity group).
  struct Column { size_t modifier; size_t target; std::string label; };
  std::vector<Column> cols;
  for (size_t i = 0; i < r.modifiers.size(); ++i) {
    const Modifier& m = r.modifiers[i];
    if (m.category() != ModifierCategory::kPruning) continue;
    for (size_t t = 0; t < m.targets.size(); ++t) {
      std::string params;
      for (const auto& p : m.targets[t].params) params += (params.empty() ? "" : ",") + p;
      cols.push_back({i, t, str_cat("[", i, "]", m.targets.size() > 1 ? str_cat(".", t) : "", " ", params)});
    }
  }
  const bool has_quant = std::any_of(r.modifiers.begin(), r.modifiers.end(),
                                     [](const Modifier& m) { return m.category() == ModifierCategory::kQuantization; });
  const std::int64_t spe = o.steps_per_epoch;
  const int epochs = r.num_epochs();
  std::printf("schedule: %d epoch%s x %lld steps per epoch; state after the updates at each epoch's first step, "
              "and at the last step of training\n", epochs, epochs == 1 ? "" : "s", static_cast<long long>(spe));
  std::printf("  sparsity columns:\n");
  if (cols.empty()) std::printf("    (no pruning)\n");
  for (size_t c = 0; c < cols.size(); ++c) std::printf("    S%zu = target sparsity of %s\n", c, cols[c].label.c_str());
  std::string header = str_cat("  ", "epoch  ", "   step  ", "learning_rate  ");
  for (size_t c = 0; c < cols.size(); ++c) header += str_cat("S", c, std::string(c < 10 ? 7 : 6, ' '));
  if (has_quant) header += "quantization";
  std::printf("%s\n", header.c_str());
  auto row = [&](const std::string& label, std::int64_t step) {
    std::string line = str_cat("  ", label, std::string(label.size() < 7 ? 7 - label.size() : 1, ' '));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%7lld  ", static_cast<long long>(step));
    line += buf;
    const double lr = learning_rate_at(r, step, spe, o.base_lr);
    std::snprintf(buf, sizeof buf, "%-13s  ", fmt(lr).c_str());
    line += buf;
    for (const auto& c : cols) {
      const auto t = pruning_targets_at(r.modifiers[c.modifier], step, spe);
      std::string cell = !t ? "-" : (*t)[c.target] < 0 ? "hold" : fmt(std::round((*t)[c.target] * 10000) / 10000);
      std::snprintf(buf, sizeof buf, "%-8s", cell.c_str());
      line += buf;
    }
    if (has_quant) {
      const QuantState q = quantization_at(r, step, spe);
      line += !q.active ? "off" : q.observers_disabled ? "on, observers frozen" : "on";
      if (q.active && q.bn_frozen) line += ", bn frozen";
    }
    std::printf("%s\n", line.c_str());
  };
  for (int e = 0; e < epochs; ++e) row(std::to_string(e), static_cast<std::int64_t>(e) * spe);
  if (epochs > 0) row("end", static_cast<std::int64_t>(epochs) * spe - 1);
  for (const auto& d : lint_recipe(r)) std::fprintf(stderr, "%s\n", d.to_string().c_str());
  return kExitOk;
}

int run_modifiers() {
  for (const ModifierSpec& spec : modifier_specs()) {
    std::printf("%s\n", spec.name);
    for (size_t i = 0; i < spec.num_fields; ++i) {
      const FieldSpec& f = spec.fields[i];
      std::printf("  %-38s %s%s\n", f.key, field_type_name(f.type), f.required ? " (required)" : "");
    }
  }
  std::printf("every modifier also accepts (and ignores) log_types and constant_logging\n");
  return kExitOk;
}

}  // namespace

void add_recipe_command(CLI::App& app, CommandRunner* run) {
  auto opts = std::make_shared<RecipeOptions>();
  CLI::App* recipe = app.add_subcommand("recipe", "Check recipes and show their schedules");
  recipe->require_subcommand(1);

  CLI::App* check = recipe->add_subcommand("check", "Parse, validate and lint a recipe; non-zero exit on errors");
  check->add_option("file", opts->file, "Recipe file (.yaml, or .md with YAML front matter)")->required();
  check->add_option("--recipe-args", opts->recipe_args, "JSON object overriding recipe variables, e.g. '{\"num_epochs\": 5}'");
  check->add_flag("--warnings-as-errors", opts->warnings_as_errors, "Exit with code 9 when lint finds warnings");
  check->callback([opts, run]() { *run = [opts]() { return run_check(*opts); }; });

  CLI::App* show = recipe->add_subcommand("show", "Print resolved variables, modifiers and the per-epoch schedule");
  show->add_option("file", opts->file, "Recipe file (.yaml, or .md with YAML front matter)")->required();
  show->add_option("--recipe-args", opts->recipe_args, "JSON object overriding recipe variables");
  show->add_option("--steps-per-epoch", opts->steps_per_epoch, "Optimizer steps per epoch used to snap updates (default 100)");
  show->add_option("--lr", opts->base_lr, "Optimizer learning rate before any learning-rate modifier applies (default 0)");
  show->callback([opts, run]() { *run = [opts]() { return run_show(*opts); }; });

  CLI::App* mods = recipe->add_subcommand("modifiers", "List every supported modifier and its keys");
  mods->callback([run]() { *run = []() { return run_modifiers(); }; });
}

}  // namespace sparsify::cli
