// Max-pool loops for scalar: pool_loops.inc compiled with this ISA's flags (engine/CMakeLists.txt).
#include <cstdint>

#include "engine/runtime/pool_loops.h"

namespace sparsify::engine {
namespace {
#include "engine/runtime/pool_loops.inc"
}  // namespace

const PoolLoops kPoolLoopsScalar = {"scalar", max_f32, max_u8};

}  // namespace sparsify::engine
