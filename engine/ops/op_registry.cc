// The ops table: ops.def expanded into declarations, the OpInfo rows and lookup by name.
#include <unordered_map>

#include "engine/ops/op_kernel.h"

namespace sparsify::engine {

// Declarations of every function a row names (repeats are harmless redeclarations).
#define SPARSIFY_OP(name, check, prepare, run, lo, hi, in_lo, in_hi, out_lo, out_hi, flags) \
  Status check(OpContext&);                                   \
  Status prepare(OpContext&);                                 \
  Status run(OpContext&);
#include "engine/ops/ops.def"
#undef SPARSIFY_OP

const std::vector<OpInfo>& all_ops() {
  static const std::vector<OpInfo> kOps = {
#define SPARSIFY_OP(name, check, prepare, run, lo, hi, in_lo, in_hi, out_lo, out_hi, flags) \
  {#name, &check, &prepare, &run, lo, hi, in_lo, in_hi, out_lo, out_hi, flags},
#include "engine/ops/ops.def"
#undef SPARSIFY_OP
  };
  return kOps;
}

const OpInfo* find_op(const std::string& op_type) {
  static const std::unordered_map<std::string, const OpInfo*> kByName = [] {
    std::unordered_map<std::string, const OpInfo*> m;
    for (const OpInfo& op : all_ops()) m.emplace(op.name, &op);
    return m;
  }();
  auto it = kByName.find(op_type);
  return it == kByName.end() ? nullptr : it->second;
}

}  // namespace sparsify::engine
