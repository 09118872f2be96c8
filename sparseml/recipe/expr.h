// Evaluator for the bodies of recipe `eval(...)` expressions: Python 3 arithmetic on recipe Values.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "engine/base/status.h"
#include "sparseml/recipe/value.h"

namespace sparsify::ml::recipe {

/// Looks a variable up by name; returns nullptr when it is not defined. The pointer only needs to
/// stay valid until the lookup call returns (the evaluator copies the Value).
using VariableLookup = std::function<const Value*(std::string_view name)>;

/// Where evaluation failed: 0-based character offset into `text` (for file:line:col reporting).
/// An error at the end of the text (e.g. a missing ')') has offset == text.size().
struct ExprError {
  size_t offset = 0;
};

/// Evaluates the body of a recipe `eval(...)` (without the `eval(` and `)`), e.g. "num_epochs - 2 * 0.5".
///
/// Grammar and semantics follow Python 3: int, float, string, True/False/None literals, list
/// literals `[a, b]`; unary `+ -`, `**` (right-associative, binds tighter than a unary minus on its
/// left), `* / // %`, `+ -`, parentheses; the functions min, max, abs, int, float and round. Ints
/// stay ints where Python keeps them ints; `/` always gives a float; `//` and `%` floor. Bools count
/// as the ints 0 and 1 in arithmetic, as in Python. Int64 overflow is an error, never a wrap.
///
/// Returns invalid_argument for syntax, type and arithmetic errors (e.g. "division by zero") and
/// not_found for an undefined variable ("undefined variable 'num_epochs'"). On error, *error (when
/// non-null) receives the offset of the offending token; on success it is left untouched.
/// `lookup` is called synchronously, on the calling thread, once per variable reference; an empty
/// `lookup` defines no variables. The function is reentrant and never throws.
StatusOr<Value> evaluate_expression(std::string_view text, const VariableLookup& lookup,
                                    ExprError* error = nullptr);

}  // namespace sparsify::ml::recipe
