// 2-D max pooling on one [H, W] plane (float32 or uint8), compiled once per ISA from the same
// source (pool_loops.inc) in quarantined translation units (pool_loops_<isa>.cc, own flags); this
// header is ISA-free. Max needs no rounding, so every variant is bit-identical to the reference.
//
// Per output row: the window's input rows (clipped to the image) are reduced vertically into a
// scratch row laid out as [pad_left lowest | W input columns | right pad lowest]; the output row
// then takes the max of kw columns of it at stride sw (contiguous or stride-2 vector loads).
#pragma once

#include <cstdint>

#include "engine/base/cpu_info.h"

namespace sparsify::engine {

/// Geometry of one pooled plane (dilation 1; pads may exceed nothing the window needs).
struct PoolPlaneGeom {
  std::int64_t ih, iw, oh, ow, kh, kw, sh, sw, pt, pl;
  /// Elements of the padded row; scratch per thread is one more (a spare the stride-2 byte loop
  /// may read).
  std::int64_t row_elems() const {
    const std::int64_t right = (ow - 1) * sw + kw - pl - iw;
    return pl + iw + (right > 0 ? right : 0);
  }
};

struct PoolLoops {
  const char* isa;
  // Output rows [oy0, oy1) of one plane; `row` holds row_elems() elements of scratch.
  void (*max_f32)(const PoolPlaneGeom& g, const float* x, float* y, std::int64_t oy0, std::int64_t oy1, float* row);
  void (*max_u8)(const PoolPlaneGeom& g, const std::uint8_t* x, std::uint8_t* y, std::int64_t oy0, std::int64_t oy1,
                 std::uint8_t* row);
};

extern const PoolLoops kPoolLoopsScalar;  // baseline x86-64 (SSE2)
extern const PoolLoops kPoolLoopsAvx2;
extern const PoolLoops kPoolLoopsAvx512;

/// The widest variant `isa` allows (decided at plan build).
inline const PoolLoops& select_pool_loops(Isa isa) {
  if (isa >= Isa::kAvx512) return kPoolLoopsAvx512;
  if (isa >= Isa::kAvx2) return kPoolLoopsAvx2;
  return kPoolLoopsScalar;
}

}  // namespace sparsify::engine
