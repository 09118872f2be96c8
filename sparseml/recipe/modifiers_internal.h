// Internal to the recipe parser: building one Modifier from its resolved YAML map.
#pragma once

#include <string>
#include <vector>

#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::recipe {

/// Validates keys and types of a modifier body (variables already resolved) and fills a Modifier.
StatusOr<Modifier> build_modifier(const ModifierSpec& spec, const Value& body, const SourceLoc& loc,
                                  const std::string& stage);
/// "start_epoch, end_epoch, ..." for error messages.
std::string valid_keys_list(const ModifierSpec& spec);
/// The candidate closest to `word` by edit distance, or "" when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace sparsify::ml::recipe
