// Window geometry: explicit pads, SAME_UPPER/SAME_LOWER/VALID auto_pad, dilations, ceil_mode.
#include "engine/ops/window.h"

namespace sparsify::engine {

Status check_auto_pad(OpContext& ctx) {
  const std::string p = ctx.attr_string("auto_pad", "NOTSET");
  if (p != "NOTSET" && p != "SAME_UPPER" && p != "SAME_LOWER" && p != "VALID") {
    return ctx.error("auto_pad '", p, "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  return Status();
}

Status forward_window(const OpContext& ctx, const Dims& in_spatial, const Dims& kernel, bool ceil_mode, Window* w) {
  const std::size_t k = in_spatial.size();
  if (k < 1 || k > 3) return ctx.unsupported_error(k, "-D windows are not supported (1-D to 3-D are)");
  if (kernel.size() != k) return ctx.error("kernel has ", kernel.size(), " dims for ", k, " spatial dims");
  const std::vector<std::int64_t> strides = ctx.attr_ints("strides", std::vector<std::int64_t>(k, 1));
  const std::vector<std::int64_t> dilations = ctx.attr_ints("dilations", std::vector<std::int64_t>(k, 1));
  const std::vector<std::int64_t> pads = ctx.attr_ints("pads", std::vector<std::int64_t>(2 * k, 0));
  if (strides.size() != k || dilations.size() != k || pads.size() != 2 * k) {
    return ctx.error("strides, dilations or pads do not match ", k, " spatial dims");
  }
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  w->spatial = k;
  const std::size_t lead = 3 - k;
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t d = lead + i;
    w->in[d] = in_spatial[i];
    w->kernel[d] = kernel[i];
    w->stride[d] = strides[i];
    w->dilation[d] = dilations[i];
    if (strides[i] < 1 || dilations[i] < 1 || kernel[i] < 1) return ctx.error("strides, dilations and kernel must be >= 1");
    const std::int64_t span = (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const std::int64_t out = (in_spatial[i] + strides[i] - 1) / strides[i];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * strides[i] + span - in_spatial[i]);
      w->pad_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w->pad_end[d] = total - w->pad_begin[d];
      w->out[d] = out;
      continue;
    }
    if (auto_pad == "NOTSET") {
      w->pad_begin[d] = pads[i];
      w->pad_end[d] = pads[i + k];
    }
    const std::int64_t padded = in_spatial[i] + w->pad_begin[d] + w->pad_end[d] - span;
    if (padded < 0) return ctx.error("kernel extent ", span, " exceeds padded input ", padded + span, " on spatial dim ", i);
    std::int64_t out = (ceil_mode ? (padded + strides[i] - 1) / strides[i] : padded / strides[i]) + 1;
    if (ceil_mode && (out - 1) * strides[i] >= in_spatial[i] + w->pad_begin[d]) --out;
    w->out[d] = out;
  }
  return Status();
}

Dims window_out_dims(const Window& w) { return Dims(w.out.begin() + (3 - w.spatial), w.out.end()); }

}  // namespace sparsify::engine
