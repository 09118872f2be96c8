// QDQ loops for avx512: qdq_loops.inc compiled with this ISA's flags (engine/CMakeLists.txt).
#include <cstdint>

#include "engine/runtime/qdq_loops.h"

namespace sparsify::engine {
namespace {
#include "engine/runtime/qdq_loops.inc"
}  // namespace

const QdqLoops kQdqLoopsAvx512 = {"avx512", quantize<std::uint8_t>, quantize<std::int8_t>, dequantize<std::uint8_t>,
                               dequantize<std::int8_t>, dequantize<std::int32_t>, add_u8};

}  // namespace sparsify::engine
