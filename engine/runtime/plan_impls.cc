// Expansion of plan_impls.def: the implementation table the plan walks for every step.
#include "engine/runtime/plan_impl.h"

namespace sparsify::engine {

const std::vector<StepImplInfo>& all_step_impls() {
  static const std::vector<StepImplInfo> kImpls = {
#define SPARSIFY_STEP_IMPL(name, op_type, factory) {#name, #op_type, factory},
#include "engine/runtime/plan_impls.def"
#undef SPARSIFY_STEP_IMPL
  };
  return kImpls;
}

}  // namespace sparsify::engine
