// Writes a parsed recipe back as YAML with every variable and eval() resolved (for checkpoints).
#pragma once

#include <string>

#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::recipe {

/// The recipe as YAML: resolved variables, then the modifiers (one `modifiers` list, or one per
/// stage). Parsing the output gives the same modifiers. Values print in YAML flow style.
std::string to_yaml(const Recipe& recipe);

/// One value in YAML flow style: 0.5, 3, true, null, 'text', [a, b], {k: v}.
std::string to_yaml(const Value& value);

}  // namespace sparsify::ml::recipe
