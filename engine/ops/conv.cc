// Reference convolutions: Conv, ConvTranspose, ConvInteger and QLinearConv (1-D to 3-D, groups,
// dilations, strides, explicit and automatic padding).
#include <cmath>
#include <limits>

#include "engine/ops/window.h"

namespace sparsify::engine {
namespace {

// Direct convolution over canonical 3-D windows, in doubles.
//   x: [N, C, D, H, W] (zero point subtracted), w: [M, C/group, kD, kH, kW], y: [N, M, oD, oH, oW]
std::vector<double> conv_direct(const Window& g, std::int64_t n, std::int64_t c, std::int64_t m, std::int64_t group,
                                const std::vector<double>& x, const std::vector<double>& w, double x_zero,
                                double w_zero) {
  const std::int64_t cg = c / group, mg = m / group;
  const std::int64_t in_sz = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t out_sz = g.out[0] * g.out[1] * g.out[2];
  const std::int64_t k_sz = g.kernel[0] * g.kernel[1] * g.kernel[2];
  std::vector<double> y(static_cast<std::size_t>(n * m * out_sz), 0.0);
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t oc = 0; oc < m; ++oc) {
      const std::int64_t grp = oc / mg;
      double* yo = y.data() + (b * m + oc) * out_sz;
      for (std::int64_t ic = 0; ic < cg; ++ic) {
        const double* xi = x.data() + (b * c + grp * cg + ic) * in_sz;
        const double* wk = w.data() + (oc * cg + ic) * k_sz;
        for (std::int64_t od = 0; od < g.out[0]; ++od)
        for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
        for (std::int64_t ow = 0; ow < g.out[2]; ++ow) {
          double acc = 0;
          for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd) {
            const std::int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            if (id < 0 || id >= g.in[0]) continue;
            for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh) {
              const std::int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              if (ih < 0 || ih >= g.in[1]) continue;
              for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const std::int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                if (iw < 0 || iw >= g.in[2]) continue;
                acc += (xi[(id * g.in[1] + ih) * g.in[2] + iw] - x_zero) *
                       (wk[(kd * g.kernel[1] + kh) * g.kernel[2] + kw] - w_zero);
              }
            }
          }
          yo[(od * g.out[1] + oh) * g.out[2] + ow] += acc;
        }
      }
    }
  }
  return y;
}

// Shared shape logic: x [N, C, ...], w [M, C/group, k...]; x_index/w_index select the inputs.
Status conv_geometry(const OpContext& ctx, std::size_t x_index, std::size_t w_index, Window* g, Dims* out) {
  const Dims& x = ctx.input(x_index).dims();
  const Dims& w = ctx.input(w_index).dims();
  if (x.size() < 3 || w.size() != x.size()) {
    return ctx.error("X ", dims_to_string(x), " and W ", dims_to_string(w), " must have the same rank >= 3");
  }
  const std::int64_t group = ctx.attr_int("group", 1);
  if (group < 1 || x[1] % group != 0 || w[0] % group != 0 || w[1] * group != x[1]) {
    return ctx.error("channels do not match: X ", dims_to_string(x), ", W ", dims_to_string(w), ", group ", group);
  }
  Dims kernel = ctx.attr_ints("kernel_shape", Dims(w.begin() + 2, w.end()));
  if (kernel != Dims(w.begin() + 2, w.end())) return ctx.error("kernel_shape ", dims_to_string(kernel), " differs from W");
  SPARSIFY_RETURN_IF_ERROR(forward_window(ctx, Dims(x.begin() + 2, x.end()), kernel, false, g));
  *out = {x[0], w[0]};
  for (std::int64_t d : window_out_dims(*g)) out->push_back(d);
  return Status();
}

Status store(Tensor& y, const std::vector<double>& v) {
  return dispatch<kTypesNumeric | kTypesHalf>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = y.data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = from_double<T>(v[i]);
    return Status();
  });
}

}  // namespace

Status prepare_conv(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(conv_geometry(ctx, 0, 1, &g, &out));
  if (ctx.has_input(2) && ctx.input(2).numel() != out[1]) return ctx.error("B has ", ctx.input(2).numel(), " elements, M is ", out[1]);
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_conv(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(conv_geometry(ctx, 0, 1, &g, &out));
  std::vector<double> y = conv_direct(g, out[0], ctx.input(0).dim(1), out[1], ctx.attr_int("group", 1),
                                      tensor_to_doubles(ctx.input(0)), tensor_to_doubles(ctx.input(1)), 0, 0);
  if (ctx.has_input(2) && !y.empty()) {  // empty when N is 0
    const std::vector<double> b = tensor_to_doubles(ctx.input(2));
    const std::int64_t plane = static_cast<std::int64_t>(y.size()) / (out[0] * out[1]);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += b[(static_cast<std::int64_t>(i) / plane) % out[1]];
  }
  return store(ctx.output(0), y);
}

// ConvInteger(x, w, x_zero_point, w_zero_point) -> int32; scalar zero points.
Status prepare_conv_integer(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(conv_geometry(ctx, 0, 1, &g, &out));
  ctx.set_output(0, DType::kInt32, out);
  return Status();
}

Status run_conv_integer(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(conv_geometry(ctx, 0, 1, &g, &out));
  if ((ctx.has_input(2) && ctx.input(2).numel() != 1) || (ctx.has_input(3) && ctx.input(3).numel() != 1)) {
    return ctx.unsupported_error("per-channel zero points are not supported");
  }
  const double xz = ctx.has_input(2) ? ctx.input(2).element_as_double(0) : 0;
  const double wz = ctx.has_input(3) ? ctx.input(3).element_as_double(0) : 0;
  // Padding contributes x_zero_point, i.e. zero after subtraction: pad the zero-point-free input.
  std::vector<double> x = tensor_to_doubles(ctx.input(0));
  for (double& v : x) v -= xz;
  const std::vector<double> y = conv_direct(g, out[0], ctx.input(0).dim(1), out[1], ctx.attr_int("group", 1), x,
                                            tensor_to_doubles(ctx.input(1)), 0, wz);
  std::int32_t* o = ctx.output(0).data<std::int32_t>();
  for (std::size_t i = 0; i < y.size(); ++i) o[i] = static_cast<std::int32_t>(y[i]);
  return Status();
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?); w_scale/w_zp may be per output channel.
Status prepare_qlinear_conv(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(conv_geometry(ctx, 0, 3, &g, &out));
  if (ctx.has_input(8) && ctx.input(8).numel() != out[1]) return ctx.error("B has ", ctx.input(8).numel(), " elements, M is ", out[1]);
  ctx.set_output(0, ctx.input(7).dtype(), out);
  return Status();
}

Status run_qlinear_conv(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(conv_geometry(ctx, 0, 3, &g, &out));
  if (dims_numel(out) == 0) return Status();  // N or M is 0: nothing to write (and no divisions by 0)
  const std::int64_t m = out[1];
  const Tensor& ws = ctx.input(4);
  const Tensor& wzp = ctx.input(5);
  if (ctx.input(1).numel() != 1 || ctx.input(2).numel() != 1 || ctx.input(6).numel() != 1 || ctx.input(7).numel() != 1) {
    return ctx.unsupported_error("per-axis x or y quantization is not supported");
  }
  if ((ws.numel() != 1 && ws.numel() != m) || (wzp.numel() != 1 && wzp.numel() != m)) {
    return ctx.error("w_scale and w_zero_point must be scalars or have M elements");
  }
  std::vector<double> x = tensor_to_doubles(ctx.input(0));
  const double xz = ctx.input(2).element_as_double(0);
  for (double& v : x) v -= xz;
  std::vector<double> w = tensor_to_doubles(ctx.input(3));
  const std::int64_t per_oc = static_cast<std::int64_t>(w.size()) / m;
  for (std::int64_t oc = 0; oc < m; ++oc) {
    const double z = wzp.element_as_double(wzp.numel() == 1 ? 0 : oc);
    for (std::int64_t i = 0; i < per_oc; ++i) w[oc * per_oc + i] -= z;
  }
  std::vector<double> acc = conv_direct(g, out[0], ctx.input(0).dim(1), m, ctx.attr_int("group", 1), x, w, 0, 0);
  const double xs = ctx.input(1).element_as_double(0);
  const double ys = ctx.input(6).element_as_double(0);
  const double yz = ctx.input(7).element_as_double(0);
  const std::int64_t plane = static_cast<std::int64_t>(acc.size()) / (out[0] * m);
  const std::vector<double> bias = ctx.has_input(8) ? tensor_to_doubles(ctx.input(8)) : std::vector<double>(m, 0.0);
  return dispatch<kTypesInt>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) {
      const std::int64_t oc = (static_cast<std::int64_t>(i) / plane) % m;
      const double scale = xs * ws.element_as_double(ws.numel() == 1 ? 0 : oc) / ys;
      o[i] = saturate_cast<T>(std::nearbyint((acc[i] + bias[oc]) * scale) + yz);
    }
    return Status();
  });
}

}  // namespace sparsify::engine
