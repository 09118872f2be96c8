// Reference normalisations: BatchNormalization (inference), InstanceNormalization,
// LayerNormalization, LRN and MeanVarianceNormalization.
#include <cmath>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

Status store(Tensor& y, const std::vector<double>& v) {
  return dispatch<kTypesFloat | kTypesHalf>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = y.data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) o[i] = from_double<T>(v[i]);
    return Status();
  });
}

}  // namespace

Status check_batch_norm(OpContext& ctx) {
  if (ctx.attr_int("training_mode", 0) != 0) return ctx.unsupported_error("training_mode=1 is not supported");
  if (ctx.opset() < 9 && ctx.attr_int("spatial", 1) == 0) return ctx.unsupported_error("spatial=0 is not supported");
  if (ctx.opset() < 7 && ctx.attr_int("is_test", 0) == 0 && ctx.node().outputs.size() > 1) {
    return ctx.unsupported_error("training outputs are not supported");
  }
  return Status();
}

Status prepare_batch_norm(OpContext& ctx) {
  const Dims& x = ctx.input(0).dims();
  if (x.size() < 2) return ctx.error("X must have rank >= 2");
  for (std::size_t i = 1; i < 5; ++i) {
    if (ctx.input(i).numel() != x[1]) return ctx.error("input ", i, " has ", ctx.input(i).numel(), " elements, C is ", x[1]);
  }
  for (std::size_t i = 1; i < ctx.num_outputs(); ++i) {
    if (ctx.has_output(i)) return ctx.unsupported_error("training outputs (running mean/var) are not supported");
  }
  ctx.set_output(0, ctx.input(0).dtype(), x);
  return Status();
}

Status run_batch_norm(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const std::vector<double> v = tensor_to_doubles(x), scale = tensor_to_doubles(ctx.input(1)),
                            bias = tensor_to_doubles(ctx.input(2)), mean = tensor_to_doubles(ctx.input(3)),
                            var = tensor_to_doubles(ctx.input(4));
  const std::int64_t c = x.dim(1);
  const std::int64_t inner = x.numel() == 0 ? 0 : x.numel() / (x.dim(0) * c);  // N or C may be 0
  std::vector<double> y(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::int64_t ch = (static_cast<std::int64_t>(i) / inner) % c;
    y[i] = (v[i] - mean[ch]) / std::sqrt(var[ch] + eps) * scale[ch] + bias[ch];
  }
  return store(ctx.output(0), y);
}

// InstanceNormalization(X, scale, B): scale and B are 1-D with C elements.
Status prepare_instance_norm(OpContext& ctx) {
  const Dims& x = ctx.input(0).dims();
  if (x.size() < 3) return ctx.error("X must have rank >= 3, got ", dims_to_string(x));
  for (std::size_t i = 1; i < 3; ++i) {
    if (ctx.input(i).rank() != 1 || ctx.input(i).dim(0) != x[1]) {
      return ctx.error("input ", i, " has dims ", dims_to_string(ctx.input(i).dims()), ", expected [", x[1], "] (C)");
    }
  }
  ctx.set_output(0, ctx.input(0).dtype(), x);
  return Status();
}

Status run_instance_norm(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3) return ctx.error("X must have rank >= 3");
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const std::vector<double> v = tensor_to_doubles(x), scale = tensor_to_doubles(ctx.input(1)),
                            bias = tensor_to_doubles(ctx.input(2));
  const std::int64_t c = x.dim(1), planes = x.dim(0) * c;
  const std::int64_t sz = planes == 0 ? 0 : x.numel() / planes;
  std::vector<double> y(v.size());
  for (std::int64_t p = 0; p < planes; ++p) {
    double mean = 0, var = 0;
    for (std::int64_t i = 0; i < sz; ++i) mean += v[p * sz + i];
    mean /= static_cast<double>(sz);
    for (std::int64_t i = 0; i < sz; ++i) var += (v[p * sz + i] - mean) * (v[p * sz + i] - mean);
    var /= static_cast<double>(sz);
    const std::int64_t ch = p % c;
    for (std::int64_t i = 0; i < sz; ++i) y[p * sz + i] = (v[p * sz + i] - mean) / std::sqrt(var + eps) * scale[ch] + bias[ch];
  }
  return store(ctx.output(0), y);
}

// LayerNormalization(X, Scale, B?) -> Y, Mean?, InvStdDev? over dims [axis, rank).
Status prepare_layer_norm(OpContext& ctx) {
  const Dims& x = ctx.input(0).dims();
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", -1), static_cast<std::int64_t>(x.size()), &axis));
  ctx.set_output(0, ctx.input(0).dtype(), x);
  Dims stat = x;
  for (std::size_t d = axis; d < x.size(); ++d) stat[d] = 1;
  // Scale and B must broadcast unidirectionally to the normalised dims [axis, rank).
  const Dims norm_dims(x.begin() + axis, x.end());
  for (std::size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    const Dims& s = ctx.input(i).dims();
    bool ok = s.size() <= norm_dims.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) {
      const std::int64_t want = norm_dims[norm_dims.size() - s.size() + d];
      ok = s[d] == 1 || s[d] == want;
    }
    if (!ok) {
      return ctx.error(i == 1 ? "Scale " : "B ", dims_to_string(s), " does not broadcast to the normalised dims ",
                       dims_to_string(norm_dims));
    }
  }
  const DType stash = ctx.attr_int("stash_type", 1) == 1 ? DType::kFloat32 : ctx.input(0).dtype();
  if (ctx.has_output(1)) ctx.set_output(1, stash, stat);
  if (ctx.has_output(2)) ctx.set_output(2, stash, stat);
  return Status();
}

Status run_layer_norm(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", -1), static_cast<std::int64_t>(x.rank()), &axis));
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  std::int64_t outer = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  const Dims norm_dims(x.dims().begin() + axis, x.dims().end());
  const std::int64_t n = dims_numel(norm_dims);
  // Scale and B broadcast (unidirectionally) to the normalised shape.
  auto expand = [&](std::size_t i, double fallback) {
    std::vector<double> out(static_cast<std::size_t>(n), fallback);
    if (!ctx.has_input(i)) return out;
    const std::vector<double> src = tensor_to_doubles(ctx.input(i));
    const std::array<Dims, 1> st = {broadcast_strides(ctx.input(i).dims(), norm_dims)};
    for_each_broadcast<1>(norm_dims, st, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) { out[o] = src[off[0]]; });
    return out;
  };
  if (ctx.input(1).rank() > norm_dims.size()) return ctx.error("Scale has a higher rank than the normalised dims");
  const std::vector<double> scale = expand(1, 1.0), bias = expand(2, 0.0);
  const std::vector<double> v = tensor_to_doubles(x);
  std::vector<double> y(v.size()), means(outer), inv(outer);
  for (std::int64_t o = 0; o < outer; ++o) {
    double mean = 0, var = 0;
    for (std::int64_t i = 0; i < n; ++i) mean += v[o * n + i];
    mean /= static_cast<double>(n);
    for (std::int64_t i = 0; i < n; ++i) var += (v[o * n + i] - mean) * (v[o * n + i] - mean);
    var /= static_cast<double>(n);
    const double r = 1.0 / std::sqrt(var + eps);
    for (std::int64_t i = 0; i < n; ++i) y[o * n + i] = (v[o * n + i] - mean) * r * scale[i] + bias[i];
    means[o] = mean;
    inv[o] = r;
  }
  if (ctx.has_output(1)) SPARSIFY_RETURN_IF_ERROR(store(ctx.output(1), means));
  if (ctx.has_output(2)) SPARSIFY_RETURN_IF_ERROR(store(ctx.output(2), inv));
  return store(ctx.output(0), y);
}

Status run_lrn(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3) return ctx.error("X must have rank >= 3");
  const double alpha = ctx.attr_float("alpha", 1e-4f), beta = ctx.attr_float("beta", 0.75f), bias = ctx.attr_float("bias", 1.0f);
  const std::int64_t size = ctx.attr_int("size", 1);
  const std::int64_t c = x.dim(1);
  const std::int64_t inner = x.numel() == 0 ? 0 : x.numel() / (x.dim(0) * c);  // N or C may be 0
  const std::vector<double> v = tensor_to_doubles(x);
  std::vector<double> y(v.size());
  const std::int64_t lo = (size - 1) / 2, hi = size - 1 - lo;  // floor and ceil of (size-1)/2
  for (std::int64_t b = 0; b < x.dim(0); ++b)
  for (std::int64_t ch = 0; ch < c; ++ch)
  for (std::int64_t i = 0; i < inner; ++i) {
    double sq = 0;
    for (std::int64_t k = std::max<std::int64_t>(0, ch - lo); k <= std::min(c - 1, ch + hi); ++k) {
      const double e = v[(b * c + k) * inner + i];
      sq += e * e;
    }
    const std::int64_t at = (b * c + ch) * inner + i;
    y[at] = v[at] / std::pow(bias + alpha / static_cast<double>(size) * sq, beta);
  }
  return store(ctx.output(0), y);
}

// MeanVarianceNormalization: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9) over `axes`.
Status run_mean_variance_norm(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<std::int64_t> axes = ctx.attr_ints("axes", {0, 2, 3});
  std::vector<bool> reduced(x.rank(), false);
  for (std::int64_t a : axes) {
    std::int64_t axis;
    SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, a, static_cast<std::int64_t>(x.rank()), &axis));
    reduced[axis] = true;
  }
  Dims kept = x.dims();
  std::int64_t group = 1;
  for (std::size_t d = 0; d < x.rank(); ++d) {
    if (reduced[d]) {
      group *= kept[d];
      kept[d] = 1;
    }
  }
  const Dims ks = strides_of(kept);
  std::array<Dims, 1> st = {Dims(x.rank(), 0)};
  for (std::size_t d = 0; d < x.rank(); ++d) st[0][d] = reduced[d] ? 0 : ks[d];
  const std::vector<double> v = tensor_to_doubles(x);
  std::vector<double> s1(static_cast<std::size_t>(dims_numel(kept)), 0.0), s2(s1.size(), 0.0), y(v.size());
  for_each_broadcast<1>(x.dims(), st, [&](std::int64_t i, const std::array<std::int64_t, 1>& o) {
    s1[o[0]] += v[i];
    s2[o[0]] += v[i] * v[i];
  });
  for_each_broadcast<1>(x.dims(), st, [&](std::int64_t i, const std::array<std::int64_t, 1>& o) {
    const double mean = s1[o[0]] / static_cast<double>(group);
    const double var = s2[o[0]] / static_cast<double>(group) - mean * mean;
    y[i] = (v[i] - mean) / (std::sqrt(std::max(var, 0.0)) + 1e-9);
  });
  return store(ctx.output(0), y);
}

}  // namespace sparsify::engine
