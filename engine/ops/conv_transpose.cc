// Reference ConvTranspose: scatter each input element through the kernel (1-D to 3-D, groups,
// dilations, output_padding, output_shape and auto_pad).
#include "engine/ops/window.h"

namespace sparsify::engine {
namespace {

// x [N, C, ...], w [C, M/group, k...]; output [N, M, ...]. Fills canonical 3-D geometry, where
// Window::in is the input extent and Window::out the output extent.
Status transpose_geometry(const OpContext& ctx, Window* g, Dims* out) {
  const Dims& x = ctx.input(0).dims();
  const Dims& w = ctx.input(1).dims();
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    return ctx.error("X ", dims_to_string(x), " and W ", dims_to_string(w), " must have the same rank (3 to 5)");
  }
  const std::size_t k = x.size() - 2;
  const std::int64_t group = ctx.attr_int("group", 1);
  if (group < 1 || x[1] != w[0] || x[1] % group != 0) {
    return ctx.error("channels do not match: X ", dims_to_string(x), ", W ", dims_to_string(w), ", group ", group);
  }
  const Dims kernel = ctx.attr_ints("kernel_shape", Dims(w.begin() + 2, w.end()));
  const Dims strides = ctx.attr_ints("strides", Dims(k, 1));
  const Dims dilations = ctx.attr_ints("dilations", Dims(k, 1));
  const Dims out_pad = ctx.attr_ints("output_padding", Dims(k, 0));
  const Dims pads = ctx.attr_ints("pads", Dims(2 * k, 0));
  const Dims out_shape = ctx.attr_ints("output_shape");
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (kernel != Dims(w.begin() + 2, w.end())) return ctx.error("kernel_shape ", dims_to_string(kernel), " differs from W");
  if (ctx.has_input(2) && ctx.input(2).numel() != w[1] * group) {
    return ctx.error("B has ", ctx.input(2).numel(), " elements, M is ", w[1] * group);
  }
  if (kernel.size() != k || strides.size() != k || dilations.size() != k || out_pad.size() != k || pads.size() != 2 * k) {
    return ctx.error("kernel_shape, strides, dilations, output_padding or pads do not match ", k, " spatial dims");
  }
  if (!out_shape.empty() && out_shape.size() != k && out_shape.size() != k + 2) {
    return ctx.error("output_shape has ", out_shape.size(), " entries for ", k, " spatial dims");
  }
  g->spatial = k;
  *out = {x[0], w[1] * group};
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t d = 3 - k + i;
    g->in[d] = x[2 + i];
    g->kernel[d] = kernel[i];
    g->stride[d] = strides[i];
    g->dilation[d] = dilations[i];
    if (strides[i] < 1 || dilations[i] < 1) return ctx.error("strides and dilations must be >= 1");
    const std::int64_t span = (kernel[i] - 1) * dilations[i] + 1;
    const std::int64_t full = strides[i] * (x[2 + i] - 1) + out_pad[i] + span;
    std::int64_t total = -1;
    if (!out_shape.empty()) {
      total = full - out_shape[out_shape.size() - k + i];
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      total = full - x[2 + i] * strides[i];
    }
    if (total >= 0 || !out_shape.empty()) {
      // ref: ONNX ConvTranspose: SAME_UPPER puts the smaller half first, otherwise the larger half.
      const std::int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor: a negative total grows the end
      g->pad_begin[d] = auto_pad == "SAME_UPPER" ? half : total - half;
      g->pad_end[d] = total - g->pad_begin[d];
    } else if (auto_pad == "NOTSET") {
      g->pad_begin[d] = pads[i];
      g->pad_end[d] = pads[i + k];
    }
    g->out[d] = full - g->pad_begin[d] - g->pad_end[d];
    if (g->out[d] < 0) return ctx.error("output extent on spatial dim ", i, " is negative");
    out->push_back(g->out[d]);
  }
  return Status();
}

}  // namespace

Status prepare_conv_transpose(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(transpose_geometry(ctx, &g, &out));
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_conv_transpose(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(transpose_geometry(ctx, &g, &out));
  const std::int64_t n = out[0], m = out[1], c = ctx.input(0).dim(1);
  const std::int64_t group = ctx.attr_int("group", 1);
  const std::int64_t cg = c / group, mg = m / group;
  const std::vector<double> x = tensor_to_doubles(ctx.input(0));
  const std::vector<double> w = tensor_to_doubles(ctx.input(1));
  const std::int64_t in_sz = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t out_sz = g.out[0] * g.out[1] * g.out[2];
  const std::int64_t k_sz = g.kernel[0] * g.kernel[1] * g.kernel[2];
  std::vector<double> y(static_cast<std::size_t>(n * m * out_sz), 0.0);
  for (std::int64_t b = 0; b < n; ++b)
  for (std::int64_t ic = 0; ic < c; ++ic) {
    const std::int64_t grp = ic / cg;
    const double* xi = x.data() + (b * c + ic) * in_sz;
    for (std::int64_t om = 0; om < mg; ++om) {
      const std::int64_t oc = grp * mg + om;
      const double* wk = w.data() + (ic * mg + om) * k_sz;
      double* yo = y.data() + (b * m + oc) * out_sz;
      for (std::int64_t id = 0; id < g.in[0]; ++id)
      for (std::int64_t ih = 0; ih < g.in[1]; ++ih)
      for (std::int64_t iw = 0; iw < g.in[2]; ++iw) {
        const double v = xi[(id * g.in[1] + ih) * g.in[2] + iw];
        for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd) {
          const std::int64_t od = id * g.stride[0] + kd * g.dilation[0] - g.pad_begin[0];
          if (od < 0 || od >= g.out[0]) continue;
          for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh) {
            const std::int64_t oh = ih * g.stride[1] + kh * g.dilation[1] - g.pad_begin[1];
            if (oh < 0 || oh >= g.out[1]) continue;
            for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
              const std::int64_t ow = iw * g.stride[2] + kw * g.dilation[2] - g.pad_begin[2];
              if (ow < 0 || ow >= g.out[2]) continue;
              yo[(od * g.out[1] + oh) * g.out[2] + ow] += v * wk[(kd * g.kernel[1] + kh) * g.kernel[2] + kw];
            }
          }
        }
      }
    }
  }
  if (ctx.has_input(2)) {
    const std::vector<double> bias = tensor_to_doubles(ctx.input(2));
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += bias[(static_cast<std::int64_t>(i) / out_sz) % m];
  }
  return dispatch<kTypesFloat | kTypesHalf>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < y.size(); ++i) o[i] = from_double<T>(y[i]);
    return Status();
  });
}

}  // namespace sparsify::engine
