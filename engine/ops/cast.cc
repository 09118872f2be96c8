// Reference Cast and CastLike between every stored element type (no strings).
#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

// One element From -> To. A plain function template (not an `if constexpr` chain inside the
// nested dispatch lambdas): clang checks the non-dependent parts of a discarded branch in an
// inner generic lambda, so e.g. `Float16 != 0` would be rejected there.
template <class To, class From>
To cast_one(From v) {
  if constexpr (std::is_integral_v<From> && std::is_integral_v<To>) {
    if constexpr (std::is_same_v<To, bool>) return v != 0;
    else return static_cast<To>(v);
  } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, double>) {
    return v;
  } else if constexpr (std::is_same_v<From, double> && std::is_same_v<To, float>) {
    return static_cast<float>(v);
  } else if constexpr ((std::is_same_v<To, Float16> || std::is_same_v<To, BFloat16>) && std::is_same_v<From, double>) {
    // double -> half in one rounding step is what numpy does only via float; follow ONNX (via float)
    return from_double<To>(static_cast<float>(v));
  } else {
    return from_double<To>(to_double(v));  // float to integer saturates and maps NaN to 0
  }
}

Status cast_into(const Tensor& x, Tensor& y) {
  return dispatch<kTypesAll>(x.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* in = x.data<From>();
    return dispatch<kTypesAll>(y.dtype(), [&](auto to_tag) {
      using To = decltype(to_tag);
      To* out = y.data<To>();
      for (std::int64_t i = 0; i < x.numel(); ++i) out[i] = cast_one<To>(in[i]);
      return Status();
    });
  });
}

}  // namespace

Status check_cast(OpContext& ctx) {
  const std::int64_t to = ctx.attr_int("to", 0);
  auto dt = dtype_from_onnx(static_cast<int>(to));
  if (!dt.ok()) return ctx.unsupported_error("cast to ", dt.status().message());
  if (*dt == DType::kBFloat16) {
    // ONNX's own test data truncates where newer ONNX and ONNX Runtime round to nearest even.
    return ctx.unsupported_error("cast to bfloat16 is not supported (rounding differs across ONNX versions)");
  }
  return Status();
}

Status prepare_cast(OpContext& ctx) {
  SPARSIFY_ASSIGN_OR_RETURN(DType to, dtype_from_onnx(static_cast<int>(ctx.attr_int("to", 0))));
  ctx.set_output(0, to, ctx.input(0).dims());
  return Status();
}

Status prepare_cast_like(OpContext& ctx) {
  if (ctx.input(1).dtype() == DType::kBFloat16) {
    return ctx.unsupported_error("cast to bfloat16 is not supported (rounding differs across ONNX versions)");
  }
  ctx.set_output(0, ctx.input(1).dtype(), ctx.input(0).dims());
  return Status();
}

Status run_cast(OpContext& ctx) { return cast_into(ctx.input(0), ctx.output(0)); }

}  // namespace sparsify::engine
