// Reference elementwise unary ops and activations (one output, same shape as the input).
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

template <class T>
constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

// y[i] = f(x[i]) for dtypes in Set; half types compute in float.
template <unsigned Set, class F>
Status map_unary(OpContext& ctx, F f) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::int64_t n = x.numel();
  return dispatch<Set>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    if constexpr (kIsHalf<T>) {
      for (std::int64_t i = 0; i < n; ++i) out[i] = from_double<T>(f(static_cast<float>(to_double(in[i]))));
    } else {
      for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(f(in[i]));
    }
    return Status();
  });
}

// y[i] = pred(x[i]) as bool.
template <unsigned Set, class F>
Status map_predicate(OpContext& ctx, F pred) {
  const Tensor& x = ctx.input(0);
  bool* out = ctx.output(0).data<bool>();
  return dispatch<Set>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    for (std::int64_t i = 0; i < x.numel(); ++i) out[i] = pred(to_double(in[i]));
    return Status();
  });
}

constexpr unsigned kFloats = kTypesFloat | kTypesHalf;

template <class T>
T abs_of(T v) {
  if constexpr (std::is_unsigned_v<T>) return v;
  else return v < 0 ? static_cast<T>(-v) : v;
}

}  // namespace

Status check_none(OpContext&) { return Status(); }

Status prepare_unary(OpContext& ctx) {
  if (ctx.num_inputs() < 1 || !ctx.has_input(0)) return ctx.error("needs one input");
  ctx.set_output(0, ctx.input(0).dtype(), ctx.input(0).dims());
  return Status();
}

Status prepare_predicate(OpContext& ctx) {
  if (ctx.num_inputs() < 1 || !ctx.has_input(0)) return ctx.error("needs one input");
  ctx.set_output(0, DType::kBool, ctx.input(0).dims());
  return Status();
}

#define SPARSIFY_FLOAT_UNARY(fn, expr)                                      \
  Status fn(OpContext& ctx) {                                               \
    return map_unary<kFloats>(ctx, [&](auto v) { return (expr); });         \
  }
SPARSIFY_FLOAT_UNARY(run_exp, std::exp(v))
SPARSIFY_FLOAT_UNARY(run_log, std::log(v))
SPARSIFY_FLOAT_UNARY(run_sqrt, std::sqrt(v))
SPARSIFY_FLOAT_UNARY(run_reciprocal, decltype(v)(1) / v)
SPARSIFY_FLOAT_UNARY(run_floor, std::floor(v))
SPARSIFY_FLOAT_UNARY(run_ceil, std::ceil(v))
SPARSIFY_FLOAT_UNARY(run_round, std::nearbyint(v))
SPARSIFY_FLOAT_UNARY(run_sin, std::sin(v))
SPARSIFY_FLOAT_UNARY(run_cos, std::cos(v))
SPARSIFY_FLOAT_UNARY(run_tan, std::tan(v))
SPARSIFY_FLOAT_UNARY(run_asin, std::asin(v))
SPARSIFY_FLOAT_UNARY(run_acos, std::acos(v))
SPARSIFY_FLOAT_UNARY(run_atan, std::atan(v))
SPARSIFY_FLOAT_UNARY(run_sinh, std::sinh(v))
SPARSIFY_FLOAT_UNARY(run_cosh, std::cosh(v))
SPARSIFY_FLOAT_UNARY(run_asinh, std::asinh(v))
SPARSIFY_FLOAT_UNARY(run_acosh, std::acosh(v))
SPARSIFY_FLOAT_UNARY(run_atanh, std::atanh(v))
SPARSIFY_FLOAT_UNARY(run_erf, std::erf(v))
SPARSIFY_FLOAT_UNARY(run_tanh, std::tanh(v))
SPARSIFY_FLOAT_UNARY(run_sigmoid, v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)))
SPARSIFY_FLOAT_UNARY(run_softsign, v / (1 + std::abs(v)))
SPARSIFY_FLOAT_UNARY(run_softplus, v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)))
SPARSIFY_FLOAT_UNARY(run_mish, v * std::tanh(v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v))))
SPARSIFY_FLOAT_UNARY(run_hard_swish,
                     v * std::max(decltype(v)(0), std::min(decltype(v)(1), v / decltype(v)(6) + decltype(v)(0.5))))
#undef SPARSIFY_FLOAT_UNARY

Status run_abs(OpContext& ctx) {
  return map_unary<kTypesNumeric | kTypesHalf>(ctx, [](auto v) { return abs_of(v); });
}
Status run_neg(OpContext& ctx) {
  return map_unary<kFloats | kTypesSigned>(ctx, [](auto v) { return -v; });
}
Status run_sign(OpContext& ctx) {
  return map_unary<kTypesNumeric | kTypesHalf>(ctx, [](auto v) {
    using T = decltype(v);
    return static_cast<T>(v > T(0) ? 1 : (v < T(0) ? -1 : 0));
  });
}
Status run_relu(OpContext& ctx) {
  return map_unary<kFloats | kTypesSigned>(ctx, [](auto v) { return v > 0 ? v : decltype(v)(0); });
}
Status run_leaky_relu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.01f);
  return map_unary<kFloats>(ctx, [&](auto v) { return v >= 0 ? v : v * alpha; });
}
Status run_elu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  return map_unary<kFloats>(ctx, [&](auto v) { return v >= 0 ? v : alpha * (std::exp(v) - 1); });
}
Status run_selu(OpContext& ctx) {
  const double alpha = ctx.attr_float("alpha", 1.67326319217681884765625f);
  const double gamma = ctx.attr_float("gamma", 1.05070102214813232421875f);
  return map_unary<kFloats>(ctx, [&](auto v) {
    return gamma * (v > 0 ? double(v) : alpha * (std::exp(double(v)) - 1));
  });
}
Status run_celu(OpContext& ctx) {
  const double alpha = ctx.attr_float("alpha", 1.0f);
  return map_unary<kFloats>(ctx, [&](auto v) {
    return std::max(0.0, double(v)) + std::min(0.0, alpha * (std::exp(double(v) / alpha) - 1));
  });
}
Status run_hard_sigmoid(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.2f);
  const float beta = ctx.attr_float("beta", 0.5f);
  return map_unary<kFloats>(ctx, [&](auto v) {
    using T = decltype(v);
    return std::max(T(0), std::min(T(1), T(alpha) * v + T(beta)));
  });
}
Status run_thresholded_relu(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  return map_unary<kFloats>(ctx, [&](auto v) { return v > alpha ? v : decltype(v)(0); });
}
Status run_not(OpContext& ctx) {
  return map_unary<kTypesBool>(ctx, [](auto v) { return !v; });
}
Status run_is_nan(OpContext& ctx) {
  return map_predicate<kFloats>(ctx, [](double v) { return std::isnan(v); });
}
Status run_is_inf(OpContext& ctx) {
  const bool pos = ctx.attr_int("detect_positive", 1) != 0;
  const bool neg = ctx.attr_int("detect_negative", 1) != 0;
  return map_predicate<kFloats>(ctx, [&](double v) { return std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg)); });
}

// Clip: bounds are attributes before opset 11 and optional inputs from 11 on.
Status run_clip(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  return dispatch<kTypesNumeric | kTypesHalf>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    if (ctx.opset() < 11) {
      lo = ctx.attr_float("min", -std::numeric_limits<float>::max());
      hi = ctx.attr_float("max", std::numeric_limits<float>::max());
    } else {
      if (const Tensor* t = ctx.input_value(1)) lo = t->element_as_double(0);
      if (const Tensor* t = ctx.input_value(2)) hi = t->element_as_double(0);
    }
    const T* in = x.data<T>();
    T* out = ctx.output(0).data<T>();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double v = to_double(in[i]);
      out[i] = std::isnan(v) ? in[i] : from_double<T>(std::min(std::max(v, lo), hi));
    }
    return Status();
  });
}

Status run_identity(OpContext& ctx) {
  std::memcpy(ctx.output(0).raw_data(), ctx.input(0).raw_data(), ctx.input(0).nbytes());
  return Status();
}

// Dropout at inference is the identity; the optional mask output is all true.
Status prepare_dropout(OpContext& ctx) {
  if (ctx.has_input(2)) {  // training_mode must be a known false: training-time dropout is random
    const Tensor* training = ctx.input_value(2);
    if (!training || training->element_as_int(0) != 0) {
      return ctx.unsupported_error("training_mode input that is not a constant false is not supported");
    }
  }
  ctx.set_output(0, ctx.input(0).dtype(), ctx.input(0).dims());
  if (ctx.has_output(1)) ctx.set_output(1, DType::kBool, ctx.input(0).dims());
  return Status();
}
Status run_dropout(OpContext& ctx) {
  SPARSIFY_RETURN_IF_ERROR(run_identity(ctx));
  if (ctx.has_output(1)) {
    bool* mask = ctx.output(1).data<bool>();
    for (std::int64_t i = 0; i < ctx.output(1).numel(); ++i) mask[i] = true;
  }
  return Status();
}

}  // namespace sparsify::engine
