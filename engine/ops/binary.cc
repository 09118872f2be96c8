// Reference elementwise ops with numpy broadcasting: arithmetic, comparison, logic, Where, PRelu.
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

template <class T>
constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

// Integer arithmetic wraps (two's complement) instead of overflowing, so the oracle has no UB.
template <class T>
T wrap(std::uint64_t v) { return static_cast<T>(v); }

struct AddOp { template <class T> T operator()(T a, T b) const {
  if constexpr (std::is_integral_v<T>) return wrap<T>(std::uint64_t(a) + std::uint64_t(b)); else return a + b; } };
struct SubOp { template <class T> T operator()(T a, T b) const {
  if constexpr (std::is_integral_v<T>) return wrap<T>(std::uint64_t(a) - std::uint64_t(b)); else return a - b; } };
struct MulOp { template <class T> T operator()(T a, T b) const {
  if constexpr (std::is_integral_v<T>) return wrap<T>(std::uint64_t(a) * std::uint64_t(b)); else return a * b; } };
struct DivOp { template <class T> T operator()(T a, T b) const {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return 0;  // undefined in ONNX; defined here so the reference never traps
    if constexpr (std::is_signed_v<T>) { if (b == -1) return wrap<T>(0 - std::uint64_t(a)); }
    return static_cast<T>(a / b);
  } else {
    return a / b;
  } } };
struct MaxOp { template <class T> T operator()(T a, T b) const {
  if constexpr (std::is_floating_point_v<T>) { if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN(); }
  return a > b ? a : b; } };
struct MinOp { template <class T> T operator()(T a, T b) const {
  if constexpr (std::is_floating_point_v<T>) { if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN(); }
  return a < b ? a : b; } };

// f(a, b) for one element; half types compute in float. These per-type branches live in function
// templates rather than in `if constexpr` inside the nested dispatch lambdas: clang instantiates
// non-dependent calls in a not-yet-discarded branch there (e.g. BitShift's lambda with floats).
template <class T, class F>
T apply_binary(const F& f, T a, T b) {
  if constexpr (kIsHalf<T>) {
    return from_double<T>(f(static_cast<float>(to_double(a)), static_cast<float>(to_double(b))));
  } else {
    return f(a, b);
  }
}

template <class T, class F>
bool apply_compare(const F& pred, T a, T b) {
  if constexpr (kIsHalf<T>) {
    return pred(to_double(a), to_double(b));
  } else {
    return pred(a, b);
  }
}

// out = f(a, b) with broadcasting; a, b, out share a dtype in Set (half types compute in float).
template <unsigned Set, class F>
Status broadcast_binary(const OpContext& ctx, const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const std::array<Dims, 2> strides = {broadcast_strides(a.dims(), out.dims()),
                                       broadcast_strides(b.dims(), out.dims())};
  return dispatch<Set>(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for_each_broadcast<2>(out.dims(), strides, [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
      po[o] = apply_binary<T>(f, pa[off[0]], pb[off[1]]);
    });
    (void)ctx;
    return Status();
  });
}

template <unsigned Set, class F>
Status run_arith(OpContext& ctx, F f) {
  if (ctx.input(0).dtype() != ctx.input(1).dtype()) {
    return ctx.error("input types differ: ", dtype_name(ctx.input(0).dtype()), " and ", dtype_name(ctx.input(1).dtype()));
  }
  return broadcast_binary<Set>(ctx, ctx.input(0), ctx.input(1), ctx.output(0), f);
}

// out = pred(a, b) as bool with broadcasting.
template <unsigned Set, class F>
Status run_compare(OpContext& ctx, F pred) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype()) return ctx.error("input types differ: ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  Tensor& out = ctx.output(0);
  const std::array<Dims, 2> strides = {broadcast_strides(a.dims(), out.dims()), broadcast_strides(b.dims(), out.dims())};
  bool* po = out.data<bool>();
  return dispatch<Set>(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    for_each_broadcast<2>(out.dims(), strides, [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
      po[o] = apply_compare<T>(pred, pa[off[0]], pb[off[1]]);
    });
    return Status();
  });
}

constexpr unsigned kArith = kTypesNumeric | kTypesHalf;

}  // namespace

Status prepare_broadcast(OpContext& ctx) {
  if (ctx.num_inputs() < 2 || !ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs two inputs");
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, ctx.input(0).dims(), ctx.input(1).dims(), &out));
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status prepare_compare(OpContext& ctx) {
  SPARSIFY_RETURN_IF_ERROR(prepare_broadcast(ctx));
  ctx.set_output(0, DType::kBool, ctx.output(0).dims());
  return Status();
}

Status prepare_variadic(OpContext& ctx) {
  if (ctx.num_inputs() < 1) return ctx.error("needs at least one input");
  Dims out = ctx.input(0).dims();
  for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) return ctx.error("input types differ");
    SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, out, ctx.input(i).dims(), &out));
  }
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_add(OpContext& ctx) { return run_arith<kArith>(ctx, AddOp{}); }
Status run_sub(OpContext& ctx) { return run_arith<kArith>(ctx, SubOp{}); }
Status run_mul(OpContext& ctx) { return run_arith<kArith>(ctx, MulOp{}); }
Status run_div(OpContext& ctx) { return run_arith<kArith>(ctx, DivOp{}); }

Status run_mod(OpContext& ctx) {
  const bool fmod = ctx.attr_int("fmod", 0) != 0;
  return run_arith<kArith>(ctx, [fmod](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_floating_point_v<T>) {
      if (fmod) return static_cast<T>(std::fmod(a, b));
      T r = std::fmod(a, b);
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      if (b == 0) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return T(0);
        T r = static_cast<T>(a % b);
        if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
        return r;
      } else {
        return static_cast<T>(a % b);
      }
    }
  });
}

// Pow: the exponent may have its own type (opset 12+); the result has the base's type.
Status run_pow(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& out = ctx.output(0);
  const std::vector<double> exps = tensor_to_doubles(b);
  const std::array<Dims, 2> strides = {broadcast_strides(a.dims(), out.dims()), broadcast_strides(b.dims(), out.dims())};
  return dispatch<kArith>(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    T* po = out.data<T>();
    for_each_broadcast<2>(out.dims(), strides, [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
      if constexpr (std::is_same_v<T, float>) po[o] = std::pow(pa[off[0]], static_cast<float>(exps[off[1]]));
      else po[o] = from_double<T>(std::pow(to_double(pa[off[0]]), exps[off[1]]));
    });
    return Status();
  });
}

Status run_bit_shift(OpContext& ctx) {
  const bool left = ctx.attr_string("direction", "") == "LEFT";
  return run_arith<kTypesUnsigned>(ctx, [left](auto a, auto b) {
    using T = decltype(a);
    if (b >= static_cast<T>(sizeof(T) * 8)) return T(0);
    return static_cast<T>(left ? a << b : a >> b);
  });
}
Status check_bit_shift(OpContext& ctx) {
  const std::string d = ctx.attr_string("direction", "");
  if (d != "LEFT" && d != "RIGHT") return ctx.error("direction must be LEFT or RIGHT, got '", d, "'");
  return Status();
}

Status run_equal(OpContext& ctx) { return run_compare<kArith | kTypesBool>(ctx, [](auto a, auto b) { return a == b; }); }
Status run_less(OpContext& ctx) { return run_compare<kArith>(ctx, [](auto a, auto b) { return a < b; }); }
Status run_less_or_equal(OpContext& ctx) { return run_compare<kArith>(ctx, [](auto a, auto b) { return a <= b; }); }
Status run_greater(OpContext& ctx) { return run_compare<kArith>(ctx, [](auto a, auto b) { return a > b; }); }
Status run_greater_or_equal(OpContext& ctx) { return run_compare<kArith>(ctx, [](auto a, auto b) { return a >= b; }); }
Status run_and(OpContext& ctx) { return run_compare<kTypesBool>(ctx, [](auto a, auto b) { return a && b; }); }
Status run_or(OpContext& ctx) { return run_compare<kTypesBool>(ctx, [](auto a, auto b) { return a || b; }); }
Status run_xor(OpContext& ctx) { return run_compare<kTypesBool>(ctx, [](auto a, auto b) { return a != b; }); }

// Variadic Max/Min/Sum/Mean: fold pairwise into the broadcast output.
template <class F>
Status run_variadic(OpContext& ctx, F f, bool mean) {
  Tensor& out = ctx.output(0);
  Tensor acc = ctx.input(0);
  for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
    Dims dims;
    SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, acc.dims(), ctx.input(i).dims(), &dims));
    Tensor next(out.dtype(), dims);
    SPARSIFY_RETURN_IF_ERROR(broadcast_binary<kArith>(ctx, acc, ctx.input(i), next, f));
    acc = next;
  }
  if (acc.dims() != out.dims()) {
    Tensor next(out.dtype(), out.dims());
    Tensor zero(out.dtype(), out.dims());
    SPARSIFY_RETURN_IF_ERROR(broadcast_binary<kArith>(ctx, acc, zero, next, [](auto a, auto) { return a; }));
    acc = next;
  }
  const double n = static_cast<double>(ctx.num_inputs());
  return dispatch<kArith>(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = acc.data<T>();
    T* dst = out.data<T>();
    for (std::int64_t i = 0; i < out.numel(); ++i) dst[i] = mean ? from_double<T>(to_double(src[i]) / n) : src[i];
    return Status();
  });
}
Status run_max(OpContext& ctx) { return run_variadic(ctx, MaxOp{}, false); }
Status run_min(OpContext& ctx) { return run_variadic(ctx, MinOp{}, false); }
Status run_sum(OpContext& ctx) { return run_variadic(ctx, AddOp{}, false); }
Status run_mean(OpContext& ctx) { return run_variadic(ctx, AddOp{}, true); }

Status prepare_where(OpContext& ctx) {
  if (ctx.num_inputs() != 3) return ctx.error("needs three inputs");
  if (ctx.input(0).dtype() != DType::kBool) return ctx.error("condition must be bool");
  if (ctx.input(1).dtype() != ctx.input(2).dtype()) return ctx.error("X and Y types differ");
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, ctx.input(0).dims(), ctx.input(1).dims(), &out));
  SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, out, ctx.input(2).dims(), &out));
  ctx.set_output(0, ctx.input(1).dtype(), out);
  return Status();
}

Status run_where(OpContext& ctx) {
  Tensor& out = ctx.output(0);
  const std::array<Dims, 3> strides = {broadcast_strides(ctx.input(0).dims(), out.dims()),
                                       broadcast_strides(ctx.input(1).dims(), out.dims()),
                                       broadcast_strides(ctx.input(2).dims(), out.dims())};
  const bool* c = ctx.input(0).data<bool>();
  return dispatch<kTypesAll>(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = ctx.input(1).data<T>();
    const T* y = ctx.input(2).data<T>();
    T* o = out.data<T>();
    for_each_broadcast<3>(out.dims(), strides, [&](std::int64_t i, const std::array<std::int64_t, 3>& off) {
      o[i] = c[off[0]] ? x[off[1]] : y[off[2]];
    });
    return Status();
  });
}

Status run_prelu(OpContext& ctx) {
  return run_arith<kTypesFloat | kTypesHalf | kTypesSigned>(ctx, [](auto x, auto slope) {
    return x < 0 ? static_cast<decltype(x)>(x * slope) : x;
  });
}

}  // namespace sparsify::engine
