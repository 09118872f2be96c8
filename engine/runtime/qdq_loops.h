// The QuantizeLinear / DequantizeLinear inner loops (one constant-scale segment each), compiled
// once per ISA from the same source (qdq_loops.inc) in quarantined translation units
// (qdq_loops_<isa>.cc, each with its own flags); this header is ISA-free. Every variant is
// bit-identical to the reference ops: the loops use only division, addition, min/max and
// conversions, which no flag changes the rounding of; the QdqAdd loop has a multiply followed by
// an add, so these translation units are compiled with -ffp-contract=off (engine/CMakeLists.txt).
#pragma once

#include <cstdint>

#include "engine/base/cpu_info.h"

namespace sparsify::engine {

/// One QdqAdd (ops/quant.cc) over uint8 A: y = act(dq(a) + dq(b)), yq = quantize(y). B is uint8
/// (bq) or float32 (bf, bq null). y / yq null: that output is not written.
struct QdqAddArgs {
  const std::uint8_t* a = nullptr;
  float sa = 1;
  std::int32_t za = 0;
  const std::uint8_t* bq = nullptr;
  const float* bf = nullptr;
  float sb = 1;
  std::int32_t zb = 0;
  bool relu = false;
  float* y = nullptr;
  std::uint8_t* yq = nullptr;
  float so = 1, lo = 0, hi = 0, zo = 0;  // as quantize_u8's scale, lo, hi, zp
};

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
  // Elements [i0, i1) of a QdqAdd.
  void (*add_u8)(const QdqAddArgs& p, std::int64_t i0, std::int64_t i1);
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
