// Reference Cast and CastLike between every stored element type (no strings).
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

// Float to integer saturates and maps NaN to 0, so out-of-range values are defined (C++ UB otherwise).
template <class To>
To convert_from_double(double v) {
  if constexpr (std::is_integral_v<To> && !std::is_same_v<To, bool>) {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<To>::min())) return std::numeric_limits<To>::min();
    if (v >= static_cast<double>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return from_double<To>(v);
  }
}

Status cast_into(const Tensor& x, Tensor& y) {
  return dispatch<kTypesAll>(x.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* in = x.data<From>();
    return dispatch<kTypesAll>(y.dtype(), [&](auto to_tag) {
      using To = decltype(to_tag);
      To* out = y.data<To>();
      for (std::int64_t i = 0; i < x.numel(); ++i) {
        if constexpr (std::is_integral_v<From> && std::is_integral_v<To>) {
          out[i] = std::is_same_v<To, bool> ? To(in[i] != 0) : static_cast<To>(in[i]);
        } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, double>) {
          out[i] = in[i];
        } else if constexpr (std::is_same_v<From, double> && std::is_same_v<To, float>) {
          out[i] = static_cast<float>(in[i]);
        } else if constexpr ((std::is_same_v<To, Float16> || std::is_same_v<To, BFloat16>) &&
                             std::is_same_v<From, double>) {
          // double -> half in one rounding step is what numpy does only via float; follow ONNX (via float)
          out[i] = from_double<To>(static_cast<float>(in[i]));
        } else {
          out[i] = convert_from_double<To>(to_double(in[i]));
        }
      }
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
