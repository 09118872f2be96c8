// Graph verification: every node input is defined, no value has two producers, and no cycles.
#pragma once

#include "engine/base/status.h"
#include "engine/graph/graph.h"

namespace sparsify::engine {

/// Checks `graph` and reorders graph.nodes topologically (stable: keeps the given order where
/// possible), updating Value::producer. Errors are invalid_argument naming the node and value.
Status verify_and_sort(Graph& graph);

}  // namespace sparsify::engine
