// The ops table is well-formed: every row of ops.def is complete, unique and found by name.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "engine/graph/onnx_import.h"
#include "engine/ops/op_kernel.h"

namespace sparsify::engine {
namespace {

TEST_CASE("every ops.def row is complete and found by name") {
  std::set<std::string> names;
  for (const OpInfo& op : all_ops()) {
    INFO(op.name);
    CHECK(names.insert(op.name).second);
    CHECK(op.check != nullptr);
    CHECK(op.prepare != nullptr);
    CHECK(op.run != nullptr);
    CHECK(op.min_opset >= 1);
    CHECK(op.min_opset <= op.max_opset);
    CHECK(op.max_opset <= kMaxOpset);
    CHECK(find_op(op.name) == &op);
  }
  CHECK(find_op("NoSuchOp") == nullptr);
  CHECK(names.size() > 100);
}

}  // namespace
}  // namespace sparsify::engine
