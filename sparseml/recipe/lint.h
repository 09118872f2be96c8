// Recipe lint: warnings for recipes that parse but will not do what their author thinks.
#pragma once

#include <string>
#include <vector>

#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::recipe {

/// A finding about a recipe. `loc` points at the modifier (or key) concerned.
struct Diagnostic {
  SourceLoc loc;
  std::string modifier;  // "GMPruningModifier", or "" for recipe-wide findings
  std::string message;
  /// "file:line:col: warning: GMPruningModifier: message"
  std::string to_string() const;
};

/// A model parameter, as the recipe sees it (no LibTorch types).
struct ParamInfo {
  std::string name;                 // PyTorch name, e.g. "conv1.0.weight"
  std::vector<std::int64_t> shape;
  bool prunable = false;            // a Conv/Linear weight (what __ALL_PRUNABLE__ selects)
};

/// Expands a modifier's param patterns against a model: exact names, "re:<regex>" (full match, as
/// SparseML), "__ALL__" (every weight of rank >= 2... every parameter) and "__ALL_PRUNABLE__".
std::vector<std::string> match_params(const std::vector<std::string>& patterns, const std::vector<ParamInfo>& params);

/// Warnings that need no model: modifiers that never take effect or never finish because training
/// ends first, learning-rate changes after the end, pruning modifiers overlapping on a parameter.
std::vector<Diagnostic> lint_recipe(const Recipe& recipe);

/// Model-aware warnings: the above, computed on the real parameter names, plus params patterns
/// that match no parameter (listing the prunable names).
std::vector<Diagnostic> lint_recipe(const Recipe& recipe, const std::vector<ParamInfo>& params);

}  // namespace sparsify::ml::recipe
