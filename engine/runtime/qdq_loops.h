// The QuantizeLinear / DequantizeLinear inner loops (one constant-scale segment each), compiled
// once per ISA from the same source (qdq_loops.inc) in quarantined translation units
// (qdq_loops_<isa>.cc, each with its own flags); this header is ISA-free. Every variant is
// bit-identical to the reference ops: the loops use only division, addition, min/max and
// conversions, which no flag changes the rounding of (there is no multiply-add to contract).
#pragma once

#include <cstdint>

#include "engine/base/cpu_info.h"

namespace sparsify::engine {

struct QdqLoops {
  const char* isa;
  // y = saturate(round_half_to_even(x / scale) + zp) (NaN -> 0); lo / hi are the type's limits
  // minus zp, as floats.
  void (*quantize_u8)(const float* x, std::uint8_t* y, std::int64_t n, float scale, float lo, float hi, float zp);
  void (*quantize_s8)(const float* x, std::int8_t* y, std::int64_t n, float scale, float lo, float hi, float zp);
  // y = float(x - zp) * scale
  void (*dequantize_u8)(const std::uint8_t* x, float* y, std::int64_t n, float scale, std::int32_t zp);
  void (*dequantize_s8)(const std::int8_t* x, float* y, std::int64_t n, float scale, std::int32_t zp);
  void (*dequantize_s32)(const std::int32_t* x, float* y, std::int64_t n, float scale, std::int32_t zp);
};

extern const QdqLoops kQdqLoopsScalar;  // baseline x86-64 (SSE2)
extern const QdqLoops kQdqLoopsAvx2;
extern const QdqLoops kQdqLoopsAvx512;

/// The widest variant `isa` allows (decided at plan build).
inline const QdqLoops& select_qdq_loops(Isa isa) {
  if (isa >= Isa::kAvx512) return kQdqLoopsAvx512;
  if (isa >= Isa::kAvx2) return kQdqLoopsAvx2;
  return kQdqLoopsScalar;
}

}  // namespace sparsify::engine
