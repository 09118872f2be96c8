// Reference pooling: MaxPool (with indices), AveragePool, LpPool and the global pools.
#include <cmath>
#include <limits>

#include "engine/ops/window.h"

namespace sparsify::engine {
namespace {

enum class Pool { kMax, kAverage, kLp };

Status pool_geometry(const OpContext& ctx, Window* g, Dims* out) {
  const Dims& x = ctx.input(0).dims();
  if (x.size() < 3) return ctx.error("X ", dims_to_string(x), " must have rank >= 3");
  const Dims kernel = ctx.attr_ints("kernel_shape");
  const bool ceil_mode = ctx.attr_int("ceil_mode", 0) != 0;
  SPARSIFY_RETURN_IF_ERROR(forward_window(ctx, Dims(x.begin() + 2, x.end()), kernel, ceil_mode, g));
  *out = {x[0], x[1]};
  for (std::int64_t d : window_out_dims(*g)) out->push_back(d);
  return Status();
}

Status run_pool(OpContext& ctx, Pool kind) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(pool_geometry(ctx, &g, &out));
  const std::vector<double> x = tensor_to_doubles(ctx.input(0));
  const std::int64_t planes = out[0] * out[1];
  const std::int64_t in_sz = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t out_sz = g.out[0] * g.out[1] * g.out[2];
  const bool include_pad = ctx.attr_int("count_include_pad", 0) != 0;
  const double p = static_cast<double>(ctx.attr_int("p", 2));
  const bool col_major = ctx.attr_int("storage_order", 0) != 0;
  std::vector<double> y(static_cast<std::size_t>(planes * out_sz));
  std::vector<std::int64_t> idx(kind == Pool::kMax ? y.size() : 0);
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    const double* xi = x.data() + pl * in_sz;
    for (std::int64_t od = 0; od < g.out[0]; ++od)
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
    for (std::int64_t ow = 0; ow < g.out[2]; ++ow) {
      const std::int64_t o[3] = {od, oh, ow};
      double acc = kind == Pool::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
      std::int64_t arg = -1;
      std::int64_t count = 0;
      std::int64_t padded_count = 1;
      for (int d = 0; d < 3; ++d) {  // window extent clipped to the padded input (count_include_pad)
        const std::int64_t start = o[d] * g.stride[d] - g.pad_begin[d];
        const std::int64_t end = std::min(start + (g.kernel[d] - 1) * g.dilation[d] + 1, g.in[d] + g.pad_end[d]);
        padded_count *= (end - start + g.dilation[d] - 1) / g.dilation[d];
      }
      for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd) {
        const std::int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
        if (id < 0 || id >= g.in[0]) continue;
        for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh) {
          const std::int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
          if (ih < 0 || ih >= g.in[1]) continue;
          for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
            const std::int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
            if (iw < 0 || iw >= g.in[2]) continue;
            const std::int64_t at = (id * g.in[1] + ih) * g.in[2] + iw;
            const double v = xi[at];
            ++count;
            if (kind == Pool::kMax) {
              if (v > acc || arg < 0) {
                acc = v;
                arg = col_major ? (iw * g.in[1] + ih) * g.in[0] + id : at;
              }
            } else if (kind == Pool::kAverage) {
              acc += v;
            } else {
              acc += std::pow(std::abs(v), p);
            }
          }
        }
      }
      const std::int64_t oi = pl * out_sz + (od * g.out[1] + oh) * g.out[2] + ow;
      if (kind == Pool::kAverage) acc /= static_cast<double>(include_pad ? padded_count : std::max<std::int64_t>(count, 1));
      if (kind == Pool::kLp) acc = std::pow(acc, 1.0 / p);
      y[oi] = acc;
      if (kind == Pool::kMax) idx[oi] = pl * in_sz + std::max<std::int64_t>(arg, 0);
    }
  }
  if (kind == Pool::kMax && ctx.has_output(1)) {
    std::int64_t* oi = ctx.output(1).data<std::int64_t>();
    for (std::size_t i = 0; i < idx.size(); ++i) oi[i] = idx[i];
  }
  return dispatch<kTypesNumeric | kTypesHalf>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < y.size(); ++i) o[i] = from_double<T>(y[i]);
    return Status();
  });
}

}  // namespace

Status check_pool(OpContext& ctx) {
  SPARSIFY_RETURN_IF_ERROR(check_auto_pad(ctx));
  if (!ctx.has_attr("kernel_shape")) return ctx.error("kernel_shape is required");
  return Status();
}

Status prepare_pool(OpContext& ctx) {
  Window g;
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(pool_geometry(ctx, &g, &out));
  ctx.set_output(0, ctx.input(0).dtype(), out);
  if (ctx.has_output(1)) ctx.set_output(1, DType::kInt64, out);
  return Status();
}

Status run_max_pool(OpContext& ctx) { return run_pool(ctx, Pool::kMax); }
Status run_average_pool(OpContext& ctx) { return run_pool(ctx, Pool::kAverage); }
Status run_lp_pool(OpContext& ctx) { return run_pool(ctx, Pool::kLp); }

Status prepare_global_pool(OpContext& ctx) {
  const Dims& x = ctx.input(0).dims();
  if (x.size() < 3) return ctx.error("X ", dims_to_string(x), " must have rank >= 3");
  Dims out(x.size(), 1);
  out[0] = x[0];
  out[1] = x[1];
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_global_pool(OpContext& ctx, Pool kind) {
  const Tensor& x = ctx.input(0);
  const std::int64_t planes = x.dim(0) * x.dim(1);
  const std::int64_t sz = planes == 0 ? 0 : x.numel() / planes;
  const std::vector<double> v = tensor_to_doubles(x);
  const double p = static_cast<double>(ctx.attr_int("p", 2));
  std::vector<double> y(static_cast<std::size_t>(planes));
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    double acc = kind == Pool::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
    for (std::int64_t i = 0; i < sz; ++i) {
      const double e = v[pl * sz + i];
      if (kind == Pool::kMax) acc = std::max(acc, e);
      else if (kind == Pool::kAverage) acc += e;
      else acc += std::pow(std::abs(e), p);
    }
    if (kind == Pool::kAverage) acc /= static_cast<double>(std::max<std::int64_t>(sz, 1));
    if (kind == Pool::kLp) acc = std::pow(acc, 1.0 / p);
    y[pl] = acc;
  }
  return dispatch<kTypesFloat | kTypesHalf>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < y.size(); ++i) o[i] = from_double<T>(y[i]);
    return Status();
  });
}

Status run_global_max_pool(OpContext& ctx) { return run_global_pool(ctx, Pool::kMax); }
Status run_global_average_pool(OpContext& ctx) { return run_global_pool(ctx, Pool::kAverage); }
Status run_global_lp_pool(OpContext& ctx) { return run_global_pool(ctx, Pool::kLp); }

}  // namespace sparsify::engine
