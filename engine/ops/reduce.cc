// Reference reductions: Reduce{Sum,Mean,Max,Min,Prod,L1,L2,LogSum,LogSumExp,SumSquare}, ArgMax, ArgMin.
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Which axes to reduce; all when none are given (unless noop_with_empty_axes). `known` is false
// when the axes input is not constant yet.
Status reduce_axes(OpContext& ctx, bool axes_input, std::vector<bool>* reduced, bool* noop, bool* known) {
  const auto rank = static_cast<std::int64_t>(ctx.input(0).rank());
  *known = true;
  *noop = false;
  std::vector<std::int64_t> axes;
  if (axes_input) {
    if (ctx.has_input(1)) {
      const Tensor* t = ctx.input_value(1);
      if (!t) {
        *known = false;
        return Status();
      }
      axes = tensor_to_ints(*t);
    }
  } else {
    axes = ctx.attr_ints("axes");
  }
  reduced->assign(rank, axes.empty());
  if (axes.empty() && ctx.attr_int("noop_with_empty_axes", 0) != 0) {
    reduced->assign(rank, false);
    *noop = true;
  }
  for (std::int64_t a : axes) {
    std::int64_t axis;
    SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, a, rank, &axis));
    (*reduced)[axis] = true;
  }
  return Status();
}

Dims reduced_dims(const Dims& in, const std::vector<bool>& reduced, bool keepdims) {
  Dims out;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

bool axes_are_input(const OpContext& ctx) {
  return ctx.opset() >= 18 || (ctx.node().op_type == "ReduceSum" && ctx.opset() >= 13);
}

Status prepare_reduce(OpContext& ctx) {
  std::vector<bool> reduced;
  bool noop, known;
  SPARSIFY_RETURN_IF_ERROR(reduce_axes(ctx, axes_are_input(ctx), &reduced, &noop, &known));
  if (!known) return ctx.defer();
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  ctx.set_output(0, ctx.input(0).dtype(), reduced_dims(ctx.input(0).dims(), reduced, keepdims));
  return Status();
}

Status run_reduce(OpContext& ctx, Reduce kind) {
  std::vector<bool> reduced;
  bool noop, known;
  SPARSIFY_RETURN_IF_ERROR(reduce_axes(ctx, axes_are_input(ctx), &reduced, &noop, &known));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  // Output strides laid over the input dims, 0 on reduced axes.
  const Dims kept = reduced_dims(x.dims(), reduced, /*keepdims=*/true);
  const Dims ks = strides_of(kept);
  std::array<Dims, 1> strides = {Dims(x.rank(), 0)};
  std::int64_t group = 1;
  for (std::size_t d = 0; d < x.rank(); ++d) {
    if (!reduced[d]) strides[0][d] = ks[d];
    else group *= x.dim(d);
  }
  const std::int64_t n_out = y.numel();
  double init = 0;
  if (kind == Reduce::kMax) init = -std::numeric_limits<double>::infinity();
  if (kind == Reduce::kMin) init = std::numeric_limits<double>::infinity();
  if (kind == Reduce::kProd) init = 1;
  std::vector<double> acc(static_cast<std::size_t>(n_out), init);
  std::vector<double> shift(static_cast<std::size_t>(n_out), -std::numeric_limits<double>::infinity());
  const std::vector<double> v = tensor_to_doubles(x);
  if (kind == Reduce::kLogSumExp) {  // subtract the max for stability
    for_each_broadcast<1>(x.dims(), strides, [&](std::int64_t i, const std::array<std::int64_t, 1>& o) {
      shift[o[0]] = std::max(shift[o[0]], v[i]);
    });
    for (double& s : shift) if (!std::isfinite(s)) s = 0;
  }
  for_each_broadcast<1>(x.dims(), strides, [&](std::int64_t i, const std::array<std::int64_t, 1>& o) {
    double& a = acc[o[0]];
    const double e = v[i];
    switch (kind) {
      case Reduce::kSum: case Reduce::kMean: case Reduce::kLogSum: a += e; break;
      case Reduce::kMax: a = (std::isnan(e) || e > a) ? e : a; break;
      case Reduce::kMin: a = (std::isnan(e) || e < a) ? e : a; break;
      case Reduce::kProd: a *= e; break;
      case Reduce::kL1: a += std::abs(e); break;
      case Reduce::kL2: case Reduce::kSumSquare: a += e * e; break;
      case Reduce::kLogSumExp: a += std::exp(e - shift[o[0]]); break;
    }
  });
  for (std::int64_t o = 0; o < n_out; ++o) {
    double& a = acc[o];
    if (kind == Reduce::kMean) a /= static_cast<double>(group);
    if (kind == Reduce::kL2) a = std::sqrt(a);
    if (kind == Reduce::kLogSum) a = std::log(a);
    if (kind == Reduce::kLogSumExp) a = std::log(a) + shift[o];
  }
  (void)noop;
  return dispatch<kTypesNumeric | kTypesHalf>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = y.data<T>();
    for (std::int64_t o = 0; o < n_out; ++o) {
      if constexpr (std::is_integral_v<T>) {
        const double a = acc[o];
        out[o] = std::isfinite(a) ? static_cast<T>(static_cast<std::int64_t>(a))
                                  : (a > 0 ? std::numeric_limits<T>::max() : std::numeric_limits<T>::min());
      } else {
        out[o] = from_double<T>(acc[o]);
      }
    }
    return Status();
  });
}

Status prepare_arg(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(in.size()), &axis));
  std::vector<bool> reduced(in.size(), false);
  reduced[axis] = true;
  ctx.set_output(0, DType::kInt64, reduced_dims(in, reduced, ctx.attr_int("keepdims", 1) != 0));
  return Status();
}

Status run_arg(OpContext& ctx, bool is_max) {
  const Tensor& x = ctx.input(0);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(x.rank()), &axis));
  const bool last = ctx.attr_int("select_last_index", 0) != 0;
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (std::size_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const std::int64_t n = x.dim(axis);
  if (n == 0) return ctx.error("cannot take the arg", is_max ? "max" : "min", " of an empty axis");
  const std::vector<double> v = tensor_to_doubles(x);
  std::int64_t* out = ctx.output(0).data<std::int64_t>();
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      std::int64_t best = 0;
      double bv = v[o * n * inner + i];
      for (std::int64_t k = 1; k < n; ++k) {
        const double e = v[(o * n + k) * inner + i];
        const bool better = is_max ? (e > bv || (last && e == bv)) : (e < bv || (last && e == bv));
        if (better) {
          best = k;
          bv = e;
        }
      }
      out[o * inner + i] = best;
    }
  }
  return Status();
}

}  // namespace

Status prepare_reduce_op(OpContext& ctx) { return prepare_reduce(ctx); }
Status run_reduce_sum(OpContext& ctx) { return run_reduce(ctx, Reduce::kSum); }
Status run_reduce_mean(OpContext& ctx) { return run_reduce(ctx, Reduce::kMean); }
Status run_reduce_max(OpContext& ctx) { return run_reduce(ctx, Reduce::kMax); }
Status run_reduce_min(OpContext& ctx) { return run_reduce(ctx, Reduce::kMin); }
Status run_reduce_prod(OpContext& ctx) { return run_reduce(ctx, Reduce::kProd); }
Status run_reduce_l1(OpContext& ctx) { return run_reduce(ctx, Reduce::kL1); }
Status run_reduce_l2(OpContext& ctx) { return run_reduce(ctx, Reduce::kL2); }
Status run_reduce_log_sum(OpContext& ctx) { return run_reduce(ctx, Reduce::kLogSum); }
Status run_reduce_log_sum_exp(OpContext& ctx) { return run_reduce(ctx, Reduce::kLogSumExp); }
Status run_reduce_sum_square(OpContext& ctx) { return run_reduce(ctx, Reduce::kSumSquare); }
Status prepare_arg_op(OpContext& ctx) { return prepare_arg(ctx); }
Status run_arg_max(OpContext& ctx) { return run_arg(ctx, true); }
Status run_arg_min(OpContext& ctx) { return run_arg(ctx, false); }

}  // namespace sparsify::engine
