// Reference Resize (opset 10-17) and Upsample (7-9): nearest, linear and cubic modes, every
// coordinate_transformation_mode up to opset 17, separable over all dims.
#include <algorithm>
#include <cmath>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

struct ResizeParams {
  Dims out;
  std::vector<double> scales;
  std::vector<double> roi;  // [starts..., ends...] for tf_crop_and_resize
};

bool is_upsample(const OpContext& ctx) { return ctx.node().op_type == "Upsample"; }

// Old semantics (Upsample, Resize-10): asymmetric coordinates, nearest rounds down.
bool legacy(const OpContext& ctx) { return is_upsample(ctx) || ctx.opset() < 11; }

Status resize_params(OpContext& ctx, ResizeParams* p, bool* known) {
  *known = true;
  const Dims& in = ctx.input(0).dims();
  const std::size_t rank = in.size();
  const Tensor* scales = nullptr;
  const Tensor* sizes = nullptr;
  if (is_upsample(ctx) && ctx.opset() < 9) {
    const std::vector<float> s = ctx.attr_floats("scales");
    p->scales.assign(s.begin(), s.end());
  } else {
    const std::size_t scales_at = legacy(ctx) ? 1 : 2;
    for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
      if (ctx.has_input(i) && !ctx.input_value(i)) {
        *known = false;
        return Status();
      }
    }
    if (ctx.has_input(scales_at) && ctx.input(scales_at).numel() > 0) scales = &ctx.input(scales_at);
    if (!legacy(ctx) && ctx.has_input(3) && ctx.input(3).numel() > 0) sizes = &ctx.input(3);
    if (!legacy(ctx) && ctx.has_input(1)) p->roi = tensor_to_doubles(ctx.input(1));
    if (scales) p->scales = tensor_to_doubles(*scales);
  }
  if (sizes) {
    if (scales) return ctx.error("only one of scales and sizes may be given");
    p->out = tensor_to_ints(*sizes);
    if (p->out.size() != rank) return ctx.error("sizes has ", p->out.size(), " entries for rank ", rank);
    p->scales.resize(rank);
    for (std::size_t d = 0; d < rank; ++d) {
      p->scales[d] = in[d] == 0 ? 1.0 : static_cast<double>(p->out[d]) / static_cast<double>(in[d]);
    }
    return Status();
  }
  if (p->scales.size() != rank) return ctx.error("scales has ", p->scales.size(), " entries for rank ", rank);
  p->out.resize(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    if (p->scales[d] <= 0) return ctx.error("scale ", p->scales[d], " must be positive");
    p->out[d] = static_cast<std::int64_t>(std::floor(static_cast<double>(in[d]) * p->scales[d]));
  }
  return Status();
}

// Maps output coordinate x on dim d to the input coordinate. `out` is the resized length as ONNX's
// formulas use it: in * scale, not floored (equal to the output extent when sizes are given).
double source_coordinate(const std::string& mode, double x, double scale, std::int64_t in, double out,
                         double roi_start, double roi_end) {
  if (mode == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / (out - 1);
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (mode == "tf_crop_and_resize") {
    const double span = static_cast<double>(in - 1);
    return out > 1 ? roi_start * span + x * (roi_end - roi_start) * span / (out - 1) : 0.5 * (roi_start + roi_end) * span;
  }
  return x / scale;  // asymmetric
}

std::int64_t round_nearest(const std::string& mode, double x) {
  if (mode == "floor") return static_cast<std::int64_t>(std::floor(x));
  if (mode == "ceil") return static_cast<std::int64_t>(std::ceil(x));
  const double f = std::floor(x);
  if (x - f == 0.5) return static_cast<std::int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
  return static_cast<std::int64_t>(std::round(x));
}

// ref: Keys cubic convolution kernel with coefficient a (ONNX cubic_coeff_a).
double cubic_weight(double t, double a) {
  t = std::abs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

struct Tap {
  std::int64_t index;
  double weight;
};

}  // namespace

Status check_resize(OpContext& ctx) {
  const Node& n = ctx.node();
  if (is_upsample(ctx) ? (ctx.opset() >= 9 && !node_has_input(n, 1))
                       : (legacy(ctx) ? !node_has_input(n, 1) : !node_has_input(n, 2) && !node_has_input(n, 3))) {
    return ctx.error("scales or sizes input is required");
  }
  const std::string mode = ctx.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic" && !(legacy(ctx) && mode == "bilinear")) {
    return ctx.unsupported_error("mode '", mode, "' is not supported");
  }
  if (legacy(ctx) && mode == "cubic") return ctx.unsupported_error("mode 'cubic' needs opset 11");
  const std::string ct = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  bool ct_ok = false;
  for (const char* ok : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                         "tf_crop_and_resize"}) {
    ct_ok = ct_ok || ct == ok;
  }
  if (!ct_ok) return ctx.unsupported_error("coordinate_transformation_mode '", ct, "' is not supported");
  const std::string nm = ctx.attr_string("nearest_mode", "round_prefer_floor");
  if (nm != "round_prefer_floor" && nm != "round_prefer_ceil" && nm != "floor" && nm != "ceil") {
    return ctx.unsupported_error("nearest_mode '", nm, "' is not supported");
  }
  return Status();
}

Status prepare_resize(OpContext& ctx) {
  ResizeParams p;
  bool known;
  SPARSIFY_RETURN_IF_ERROR(resize_params(ctx, &p, &known));
  if (!known) return ctx.defer();
  ctx.set_output(0, ctx.input(0).dtype(), p.out);
  return Status();
}

Status run_resize(OpContext& ctx) {
  ResizeParams p;
  bool known;
  SPARSIFY_RETURN_IF_ERROR(resize_params(ctx, &p, &known));
  const Tensor& x = ctx.input(0);
  const std::size_t rank = x.rank();
  std::string mode = ctx.attr_string("mode", "nearest");
  if (mode == "bilinear") mode = "linear";
  const std::string ct = legacy(ctx) ? "asymmetric" : ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  const std::string nm = legacy(ctx) ? "floor" : ctx.attr_string("nearest_mode", "round_prefer_floor");
  const double a = ctx.attr_float("cubic_coeff_a", -0.75f);
  const bool exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
  const double extrapolation = ctx.attr_float("extrapolation_value", 0.0f);
  // taps[d][o]: input indices and weights for output coordinate o on dim d; `outside` marks
  // tf_crop_and_resize coordinates that fall off the input (extrapolated).
  std::vector<std::vector<std::vector<Tap>>> taps(rank);
  std::vector<std::vector<bool>> outside(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    const std::int64_t in = x.dim(d), out = p.out[d];
    taps[d].resize(out);
    outside[d].assign(out, false);
    const double rs = p.roi.size() == 2 * rank ? p.roi[d] : 0.0;
    const double re = p.roi.size() == 2 * rank ? p.roi[d + rank] : 1.0;
    for (std::int64_t o = 0; o < out; ++o) {
      const double s = source_coordinate(ct, static_cast<double>(o), p.scales[d], in,
                                         static_cast<double>(in) * p.scales[d], rs, re);
      if (ct == "tf_crop_and_resize" && (s < 0 || s > static_cast<double>(in - 1))) {
        outside[d][o] = true;
        continue;
      }
      auto& t = taps[d][o];
      if (mode == "nearest") {
        t.push_back({std::clamp<std::int64_t>(round_nearest(nm, s), 0, in - 1), 1.0});
      } else if (mode == "linear") {
        const double sc = std::clamp(s, 0.0, static_cast<double>(in - 1));
        const auto i0 = static_cast<std::int64_t>(std::floor(sc));
        const double r = sc - static_cast<double>(i0);
        t.push_back({i0, 1 - r});
        if (r > 0) t.push_back({std::min(i0 + 1, in - 1), r});
      } else {  // cubic: 4 taps, edge-clamped, optionally renormalised inside the input
        const auto i0 = static_cast<std::int64_t>(std::floor(s));
        const double r = s - static_cast<double>(i0);
        double total = 0;
        for (std::int64_t k = -1; k <= 2; ++k) {
          const std::int64_t idx = i0 + k;
          double w = cubic_weight(static_cast<double>(k) - r, a);
          if (exclude_outside && (idx < 0 || idx >= in)) w = 0;
          total += w;
          t.push_back({std::clamp<std::int64_t>(idx, 0, in - 1), w});
        }
        if (exclude_outside && total != 0) {
          for (Tap& tap : t) tap.weight /= total;
        }
      }
    }
  }
  const std::vector<double> v = tensor_to_doubles(x);
  const Dims xs = strides_of(x.dims());
  Tensor& y = ctx.output(0);
  std::vector<double> result(static_cast<std::size_t>(y.numel()));
  Dims c;
  for (std::int64_t o = 0; o < y.numel(); ++o) {
    unravel(o, y.dims(), c);
    bool off = false;
    for (std::size_t d = 0; d < rank; ++d) off = off || outside[d][c[d]];
    if (off) {
      result[o] = extrapolation;
      continue;
    }
    // Sum over the product of per-dim taps (odometer over tap positions).
    std::vector<std::size_t> pos(rank, 0);
    double acc = 0;
    while (true) {
      double w = 1;
      std::int64_t at = 0;
      for (std::size_t d = 0; d < rank; ++d) {
        const Tap& t = taps[d][c[d]][pos[d]];
        w *= t.weight;
        at += t.index * xs[d];
      }
      acc += w * v[at];
      std::size_t d = rank;
      while (d-- > 0) {
        if (++pos[d] < taps[d][c[d]].size()) break;
        pos[d] = 0;
      }
      if (d == static_cast<std::size_t>(-1)) break;
    }
    result[o] = acc;
  }
  return dispatch<kTypesNumeric | kTypesHalf>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = y.data<T>();
    for (std::size_t i = 0; i < result.size(); ++i) {
      if constexpr (std::is_integral_v<T>) out[i] = static_cast<T>(std::nearbyint(result[i]));
      else out[i] = from_double<T>(result[i]);
    }
    return Status();
  });
}

}  // namespace sparsify::engine
