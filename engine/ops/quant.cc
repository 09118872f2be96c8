// Reference quantisation: QuantizeLinear, DequantizeLinear (per-tensor and per-axis),
// DynamicQuantizeLinear, and the internal QdqAdd.
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

// Index into a per-axis parameter for flat element i (0 for per-tensor parameters).
struct AxisIndexer {
  std::int64_t inner = 1, n = 1;
  bool per_axis = false;
  std::int64_t operator()(std::int64_t i) const { return per_axis ? (i / inner) % n : 0; }
};

// Also checks that the zero point (input 2), when present, has one value per scale value.
Status make_indexer(const OpContext& ctx, const Tensor& x, const Tensor& scale, AxisIndexer* ix) {
  if (ctx.has_input(2) && ctx.input(2).numel() != scale.numel()) {
    return ctx.error("zero point ", ctx.input(2).describe(), " does not match scale ", scale.describe());
  }
  if (scale.numel() == 1 && scale.rank() <= 1) return Status();
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 1), static_cast<std::int64_t>(x.rank()), &axis));
  if (scale.rank() != 1 || scale.numel() != x.dim(axis)) {
    return ctx.error("scale ", scale.describe(), " does not match axis ", axis, " of ", x.describe());
  }
  ix->per_axis = true;
  ix->n = x.dim(axis);
  for (std::size_t d = axis + 1; d < x.rank(); ++d) ix->inner *= x.dim(d);
  return Status();
}

}  // namespace

Status prepare_quantize_linear(OpContext& ctx) {
  AxisIndexer ix;
  SPARSIFY_RETURN_IF_ERROR(make_indexer(ctx, ctx.input(0), ctx.input(1), &ix));
  ctx.set_output(0, ctx.has_input(2) ? ctx.input(2).dtype() : DType::kUInt8, ctx.input(0).dims());
  return Status();
}

Status run_quantize_linear(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  AxisIndexer ix;
  SPARSIFY_RETURN_IF_ERROR(make_indexer(ctx, x, scale, &ix));
  const std::vector<double> v = tensor_to_doubles(x), s = tensor_to_doubles(scale);
  const std::vector<double> z = ctx.has_input(2) ? tensor_to_doubles(ctx.input(2)) : std::vector<double>(s.size(), 0.0);
  return dispatch<kTypesInt>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::int64_t a = ix(static_cast<std::int64_t>(i));
      // ref: ONNX QuantizeLinear: saturate(round_half_to_even(x / y_scale) + y_zero_point), in float
      const float q = std::nearbyint(static_cast<float>(v[i]) / static_cast<float>(s[a]));
      out[i] = saturate_cast<T>(static_cast<double>(q) + z[a]);
    }
    return Status();
  });
}

Status prepare_dequantize_linear(OpContext& ctx) {
  AxisIndexer ix;
  SPARSIFY_RETURN_IF_ERROR(make_indexer(ctx, ctx.input(0), ctx.input(1), &ix));
  ctx.set_output(0, ctx.input(1).dtype(), ctx.input(0).dims());
  return Status();
}

Status run_dequantize_linear(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  AxisIndexer ix;
  SPARSIFY_RETURN_IF_ERROR(make_indexer(ctx, x, scale, &ix));
  const std::vector<double> v = tensor_to_doubles(x), s = tensor_to_doubles(scale);
  const std::vector<double> z = ctx.has_input(2) ? tensor_to_doubles(ctx.input(2)) : std::vector<double>(s.size(), 0.0);
  return dispatch<kTypesFloat | kTypesHalf>(ctx.output(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = ctx.output(0).data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::int64_t a = ix(static_cast<std::int64_t>(i));
      out[i] = from_double<T>(static_cast<float>(v[i] - z[a]) * static_cast<float>(s[a]));
    }
    return Status();
  });
}

// QdqAdd (internal, made by pass fold_qdq_add; never in a model file):
//   inputs  A, A_scale, A_zero_point, B, B_scale, B_zero_point, Y_scale, Y_zero_point
//   outputs Y (float32, optional), Yq (optional; the type of Y_zero_point)
//   Y = act(dq(A) + dq(B)), Yq = QuantizeLinear(Y, Y_scale, Y_zero_point)
// where dq(X) = DequantizeLinear(X, X_scale, X_zero_point) for an 8-bit X (scalar parameters) and
// X itself for a float32 X (its scale and zero point omitted); act is Relu when the int attribute
// "relu" is 1, else the identity. Each step rounds exactly as the
// DequantizeLinear / Add / Relu / QuantizeLinear nodes it replaces, so the fusion is exact.
namespace {

bool qdq_add_relu(const OpContext& ctx) { return ctx.attr_int("relu", 0) != 0; }

Status qdq_add_operand(const OpContext& ctx, std::size_t i, const char* what) {
  const Tensor& x = ctx.input(i);
  if (x.dtype() == DType::kFloat32) {
    if (ctx.has_input(i + 1) || ctx.has_input(i + 2)) return ctx.error(what, " is float32 but has a scale or zero point");
    return Status();
  }
  if (x.dtype() != DType::kUInt8 && x.dtype() != DType::kInt8) return ctx.error(what, " is ", dtype_name(x.dtype()));
  if (!ctx.has_input(i + 1) || !ctx.has_input(i + 2) || ctx.input(i + 1).numel() != 1 || ctx.input(i + 2).numel() != 1 ||
      ctx.input(i + 2).dtype() != x.dtype()) {
    return ctx.error(what, " needs a scalar scale and a zero point of its type");
  }
  return Status();
}

}  // namespace

Status prepare_qdq_add(OpContext& ctx) {
  SPARSIFY_RETURN_IF_ERROR(qdq_add_operand(ctx, 0, "A"));
  SPARSIFY_RETURN_IF_ERROR(qdq_add_operand(ctx, 3, "B"));
  if (ctx.input(0).dims() != ctx.input(3).dims()) {
    return ctx.error("A ", ctx.input(0).describe(), " and B ", ctx.input(3).describe(), " differ (no broadcasting)");
  }
  if (ctx.has_output(1) && (!ctx.has_input(6) || !ctx.has_input(7) || ctx.input(6).numel() != 1 || ctx.input(7).numel() != 1)) {
    return ctx.error("Yq needs a scalar Y_scale and Y_zero_point");
  }
  if (ctx.has_output(0)) ctx.set_output(0, DType::kFloat32, ctx.input(0).dims());
  if (ctx.has_output(1)) ctx.set_output(1, ctx.input(7).dtype(), ctx.input(0).dims());
  return Status();
}

Status run_qdq_add(OpContext& ctx) {
  auto dq = [&](std::size_t i) {
    const Tensor& x = ctx.input(i);
    std::vector<float> out(static_cast<std::size_t>(x.numel()));
    if (x.dtype() == DType::kFloat32) {
      for (std::size_t k = 0; k < out.size(); ++k) out[k] = x.data<float>()[k];
      return out;
    }
    const double z = ctx.input(i + 2).element_as_double(0);
    const float s = static_cast<float>(ctx.input(i + 1).element_as_double(0));
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<float>(x.element_as_double(k) - z) * s;
    return out;
  };
  std::vector<float> y = dq(0);
  const std::vector<float> b = dq(3);
  const bool relu = qdq_add_relu(ctx);
  for (std::size_t k = 0; k < y.size(); ++k) {
    y[k] = static_cast<float>(static_cast<double>(y[k]) + static_cast<double>(b[k]));
    if (relu) y[k] = y[k] > 0 ? y[k] : 0.0f;
  }
  if (ctx.has_output(0)) {
    float* o = ctx.output(0).data<float>();
    for (std::size_t k = 0; k < y.size(); ++k) o[k] = y[k];
  }
  if (!ctx.has_output(1)) return Status();
  const float s = static_cast<float>(ctx.input(6).element_as_double(0));
  const double z = ctx.input(7).element_as_double(0);
  return dispatch<kTypesInt>(ctx.output(1).dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = ctx.output(1).data<T>();
    for (std::size_t k = 0; k < y.size(); ++k) out[k] = saturate_cast<T>(static_cast<double>(std::nearbyint(y[k] / s)) + z);
    return Status();
  });
}

Status prepare_dynamic_quantize_linear(OpContext& ctx) {
  ctx.set_output(0, DType::kUInt8, ctx.input(0).dims());
  ctx.set_output(1, DType::kFloat32, {});
  ctx.set_output(2, DType::kUInt8, {});
  return Status();
}

Status run_dynamic_quantize_linear(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32) return ctx.unsupported_error("input type ", dtype_name(x.dtype()), " is not supported");
  const float* in = x.data<float>();
  float lo = 0, hi = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    lo = std::min(lo, in[i]);
    hi = std::max(hi, in[i]);
  }
  // ref: ONNX DynamicQuantizeLinear (uint8): scale = (max(0,x_max) - min(0,x_min)) / 255
  const float scale = (hi - lo) / 255.0f;
  const float zp_f = scale == 0 ? 0.0f : std::nearbyint(0.0f - lo / scale);
  const std::uint8_t zp = saturate_cast<std::uint8_t>(zp_f);
  std::uint8_t* out = ctx.output(0).data<std::uint8_t>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    out[i] = scale == 0 ? zp : saturate_cast<std::uint8_t>(std::nearbyint(in[i] / scale) + static_cast<float>(zp));
  }
  *ctx.output(1).data<float>() = scale;
  *ctx.output(2).data<std::uint8_t>() = zp;
  return Status();
}

}  // namespace sparsify::engine
