// YAML text to recipe Values with file:line:col, resolving scalars as PyYAML's safe_load did.
#pragma once

#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "sparseml/recipe/value.h"

namespace sparsify::ml::recipe {

/// Parses one YAML document. Lines in locations and errors are 1-based plus `line_offset`.
/// Duplicate map keys are an error. Tags (`!GMPruningModifier`) are kept on the Value.
StatusOr<Value> load_yaml(std::string_view text, const std::string& file, int line_offset = 0);

/// The YAML of a recipe file's text: for `.md` files, the front matter between the first two
/// `---` lines (its first line number minus one goes to *line_offset); for others, the text itself.
StatusOr<std::string> recipe_yaml_text(std::string_view text, const std::string& file, int* line_offset);

/// Resolves a plain (unquoted) YAML scalar: null, bool, int, float, or string.
Value resolve_plain_scalar(const std::string& text);

}  // namespace sparsify::ml::recipe
