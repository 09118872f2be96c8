// Sliding-window geometry shared by Conv, ConvTranspose and the pools: kernel, strides, dilations,
// pads (explicit or auto_pad) and output extents, canonicalised to three spatial dims.
#pragma once

#include "engine/ops/op_util.h"

namespace sparsify::engine {

/// Geometry of one windowed op over the spatial dims of an [N, C, D1..Dk] tensor (k = 1..3).
/// Arrays are padded at the front to 3 dims with extent 1, so kernels loop over exactly 3 dims.
struct Window {
  std::size_t spatial = 0;  // k, before canonicalisation
  std::array<std::int64_t, 3> in{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1};
  std::array<std::int64_t, 3> pad_begin{0, 0, 0}, pad_end{0, 0, 0}, out{1, 1, 1};
};

/// Load-time validation of auto_pad.
Status check_auto_pad(OpContext& ctx);

/// Fills `w` for a forward window (Conv, pools) over `in_spatial` with `kernel`. ceil_mode rounds
/// the output extent up (pools); a window may then not start beyond the padded input.
Status forward_window(const OpContext& ctx, const Dims& in_spatial, const Dims& kernel, bool ceil_mode, Window* w);

/// Spatial output dims of `w` in the original rank.
Dims window_out_dims(const Window& w);

}  // namespace sparsify::engine
