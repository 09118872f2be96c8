// Expansion of plan_impls.def: the implementation table the plan walks for every step.
#include "engine/runtime/plan_impl.h"

#include <algorithm>

#include "engine/kernels/vmath/family.h"
#include "engine/runtime/thread_pool.h"

namespace sparsify::engine {

const std::vector<StepImplInfo>& all_step_impls() {
  static const std::vector<StepImplInfo> kImpls = {
#define SPARSIFY_STEP_IMPL(name, op_type, factory) {#name, #op_type, factory},
#include "engine/runtime/plan_impls.def"
#undef SPARSIFY_STEP_IMPL
  };
  return kImpls;
}

std::string epilogue_name(const Epilogue& rest, Isa isa) {
  if (rest.act == FusedAct::kGelu) return select_f32_vmath(isa).gelu_name;
  return rest.describe();
}

void run_epilogue(const Epilogue& rest, float* y, std::int64_t n, Isa isa, ThreadPool* pool) {
  if (rest.act == FusedAct::kNone || n <= 0) return;
  constexpr std::int64_t kChunk = 16 * 1024;  // elements per task, a multiple of every vector width
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
  if (pool == nullptr || pool->threads() <= 1 || chunks < 2) {
    apply_activation(rest, y, n, isa);
    return;
  }
  pool->parallel_for(chunks, [&](std::int64_t c, int) {
    const std::int64_t i0 = c * kChunk;
    apply_activation(rest, y + i0, std::min(kChunk, n - i0), isa);
  });
}

}  // namespace sparsify::engine
