// Reference losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (reduction none/sum/mean,
// class weights, ignore_index).
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

Status check_reduction(OpContext& ctx) {
  const std::string r = ctx.attr_string("reduction", "mean");
  if (r != "none" && r != "sum" && r != "mean") return ctx.error("reduction '", r, "' is not none, sum or mean");
  return Status();
}

// loss over log-probabilities lp [N, C, d...] and targets [N, d...].
Status nll(OpContext& ctx, const std::vector<double>& lp, const Dims& dims, const Tensor& target, const Tensor* weight,
           std::size_t out_index) {
  const std::int64_t n = dims[0], c = dims[1];
  const std::int64_t inner = n * c == 0 ? 0 : dims_numel(dims) / (n * c);
  const std::vector<std::int64_t> t = tensor_to_ints(target);
  const std::vector<double> w = weight ? tensor_to_doubles(*weight) : std::vector<double>();
  const bool has_ignore = ctx.has_attr("ignore_index");
  const std::int64_t ignore = ctx.attr_int("ignore_index", 0);
  std::vector<double> loss(t.size(), 0.0);
  double wsum = 0;
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t i = 0; i < inner; ++i) {
      const std::int64_t at = b * inner + i;
      const std::int64_t cls = t[at];
      if (has_ignore && cls == ignore) continue;
      if (cls < 0 || cls >= c) return ctx.error("target ", cls, " is out of range for ", c, " classes");
      const double wi = weight ? w[cls] : 1.0;
      loss[at] = -lp[(b * c + cls) * inner + i] * wi;
      wsum += wi;
    }
  }
  const std::string r = ctx.attr_string("reduction", "mean");
  std::vector<double> out = loss;
  if (r != "none") {
    double s = 0;
    for (double l : loss) s += l;
    out = {r == "sum" ? s : (wsum == 0 ? 0.0 : s / wsum)};
  }
  return dispatch<kTypesFloat | kTypesHalf>(ctx.output(out_index).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = ctx.output(out_index).data<T>();
    for (std::size_t i = 0; i < out.size(); ++i) o[i] = from_double<T>(out[i]);
    return Status();
  });
}

Status prepare_loss(OpContext& ctx) {
  const Dims& x = ctx.input(0).dims();
  const Dims& t = ctx.input(1).dims();
  if (x.size() < 2 || t.size() + 1 != x.size() || t[0] != x[0]) {
    return ctx.error("input ", dims_to_string(x), " and target ", dims_to_string(t), " do not match");
  }
  for (std::size_t d = 1; d < t.size(); ++d) {
    if (t[d] != x[d + 1]) return ctx.error("input ", dims_to_string(x), " and target ", dims_to_string(t), " do not match");
  }
  if (ctx.has_input(2) && ctx.input(2).numel() != x[1]) return ctx.error("weight must have C elements");
  const bool none = ctx.attr_string("reduction", "mean") == "none";
  ctx.set_output(0, ctx.input(0).dtype(), none ? t : Dims{});
  if (ctx.has_output(1)) ctx.set_output(1, ctx.input(0).dtype(), x);
  return Status();
}

}  // namespace

Status check_loss(OpContext& ctx) { return check_reduction(ctx); }
Status prepare_loss_op(OpContext& ctx) { return prepare_loss(ctx); }

Status run_nll_loss(OpContext& ctx) {
  return nll(ctx, tensor_to_doubles(ctx.input(0)), ctx.input(0).dims(), ctx.input(1),
             ctx.has_input(2) ? &ctx.input(2) : nullptr, 0);
}

Status run_softmax_cross_entropy_loss(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Dims& d = x.dims();
  const std::int64_t n = d[0], c = d[1];
  const std::int64_t inner = n * c == 0 ? 0 : x.numel() / (n * c);
  std::vector<double> v = tensor_to_doubles(x);
  for (std::int64_t b = 0; b < n; ++b) {  // log_softmax over the class axis
    for (std::int64_t i = 0; i < inner; ++i) {
      double mx = -std::numeric_limits<double>::infinity();
      for (std::int64_t k = 0; k < c; ++k) mx = std::max(mx, v[(b * c + k) * inner + i]);
      double s = 0;
      for (std::int64_t k = 0; k < c; ++k) s += std::exp(v[(b * c + k) * inner + i] - mx);
      const double lse = mx + std::log(s);
      for (std::int64_t k = 0; k < c; ++k) v[(b * c + k) * inner + i] -= lse;
    }
  }
  if (ctx.has_output(1)) {
    SPARSIFY_RETURN_IF_ERROR(dispatch<kTypesFloat | kTypesHalf>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* o = ctx.output(1).data<T>();
      for (std::size_t i = 0; i < v.size(); ++i) o[i] = from_double<T>(v[i]);
      return Status();
    }));
  }
  return nll(ctx, v, d, ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr, 0);
}

}  // namespace sparsify::engine
