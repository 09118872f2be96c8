// Reference ops that only change shapes or describe them: Shape, Size, Reshape, Flatten, Squeeze,
// Unsqueeze, Expand, ConstantOfShape, Constant.
#include <algorithm>
#include <cstring>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

// Axes from the attribute (old opsets) or from input 1 (new opsets); defer when not yet known.
// Returns false in *known when the axes input is not constant.
Status axes_from(OpContext& ctx, std::int64_t input_since, std::vector<std::int64_t>* axes, bool* present,
                 bool* known) {
  *known = true;
  *present = false;
  if (ctx.opset() < input_since) {
    *present = ctx.has_attr("axes");
    *axes = ctx.attr_ints("axes");
    return Status();
  }
  if (!ctx.has_input(1)) return Status();
  *present = true;
  const Tensor* t = ctx.input_value(1);
  if (!t) {
    *known = false;
    return Status();
  }
  *axes = tensor_to_ints(*t);
  return Status();
}

}  // namespace

Status run_copy(OpContext& ctx) {
  std::memcpy(ctx.output(0).raw_data(), ctx.input(0).raw_data(), ctx.output(0).nbytes());
  return Status();
}

Status prepare_shape(OpContext& ctx) {
  const auto rank = static_cast<std::int64_t>(ctx.input(0).rank());
  std::int64_t start = ctx.attr_int("start", 0);
  std::int64_t end = ctx.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<std::int64_t>(start, 0, rank);
  end = std::clamp<std::int64_t>(end, 0, rank);
  ctx.set_output(0, DType::kInt64, {std::max<std::int64_t>(0, end - start)});
  return Status();
}

Status run_shape(OpContext& ctx) {
  const auto rank = static_cast<std::int64_t>(ctx.input(0).rank());
  std::int64_t start = ctx.attr_int("start", 0);
  if (start < 0) start += rank;
  start = std::clamp<std::int64_t>(start, 0, rank);
  std::int64_t* out = ctx.output(0).data<std::int64_t>();
  for (std::int64_t i = 0; i < ctx.output(0).numel(); ++i) out[i] = ctx.input(0).dim(start + i);
  return Status();
}

Status prepare_size(OpContext& ctx) {
  ctx.set_output(0, DType::kInt64, {});
  return Status();
}

Status run_size(OpContext& ctx) {
  *ctx.output(0).data<std::int64_t>() = ctx.input(0).numel();
  return Status();
}

Status prepare_reshape(OpContext& ctx) {
  const Tensor* shape_t = ctx.input_value(1);
  if (!shape_t) return ctx.defer();
  const Dims& in = ctx.input(0).dims();
  std::vector<std::int64_t> shape = tensor_to_ints(*shape_t);
  const bool allowzero = ctx.attr_int("allowzero", 0) != 0;
  std::int64_t infer_at = -1;
  Dims known_dims;  // every entry but the -1
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= in.size()) return ctx.error("shape ", dims_to_string(shape), " copies dim ", i, " of rank-", in.size(), " input");
      shape[i] = in[i];
    }
    if (shape[i] == -1) {
      if (infer_at >= 0) return ctx.error("shape ", dims_to_string(shape), " has more than one -1");
      infer_at = static_cast<std::int64_t>(i);
    } else if (shape[i] < 0) {
      return ctx.error("shape ", dims_to_string(shape), " has a negative dim");
    } else {
      known_dims.push_back(shape[i]);
    }
  }
  const std::int64_t known = dims_numel(known_dims);  // saturates: the dims come from data
  const std::int64_t total = dims_numel(in);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0) {
      return ctx.error("cannot reshape ", dims_to_string(in), " to ", dims_to_string(tensor_to_ints(*shape_t)));
    }
    shape[infer_at] = total / known;
  }
  if (dims_numel(shape) != total) {
    return ctx.error("cannot reshape ", dims_to_string(in), " (", total, " elements) to ", dims_to_string(shape));
  }
  ctx.set_output(0, ctx.input(0).dtype(), shape);
  return Status();
}

Status prepare_flatten(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  const auto rank = static_cast<std::int64_t>(in.size());
  std::int64_t axis = ctx.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return ctx.error("axis ", ctx.attr_int("axis", 1), " is out of range for rank ", rank);
  std::int64_t outer = 1;
  std::int64_t inner = 1;
  for (std::int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[i];
  ctx.set_output(0, ctx.input(0).dtype(), {outer, inner});
  return Status();
}

Status prepare_squeeze(OpContext& ctx) {
  std::vector<std::int64_t> axes;
  bool present, known;
  SPARSIFY_RETURN_IF_ERROR(axes_from(ctx, 13, &axes, &present, &known));
  if (!known) return ctx.defer();
  const Dims& in = ctx.input(0).dims();
  const auto rank = static_cast<std::int64_t>(in.size());
  std::vector<bool> drop(in.size(), false);
  if (!present) {
    for (std::size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  }
  for (std::int64_t a : axes) {
    std::int64_t axis;
    SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, a, rank, &axis));
    if (in[axis] != 1) return ctx.error("cannot squeeze axis ", a, " of extent ", in[axis]);
    drop[axis] = true;
  }
  Dims out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!drop[i]) out.push_back(in[i]);
  }
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status prepare_unsqueeze(OpContext& ctx) {
  std::vector<std::int64_t> axes;
  bool present, known;
  SPARSIFY_RETURN_IF_ERROR(axes_from(ctx, 13, &axes, &present, &known));
  if (!known) return ctx.defer();
  const Dims& in = ctx.input(0).dims();
  const auto out_rank = static_cast<std::int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (std::int64_t a : axes) {
    std::int64_t axis;
    SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, a, out_rank, &axis));
    if (inserted[axis]) return ctx.error("axis ", a, " is repeated");
    inserted[axis] = true;
  }
  Dims out;
  std::size_t next = 0;
  for (std::int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[i] ? 1 : in[next++]);
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status prepare_expand(OpContext& ctx) {
  const Tensor* shape_t = ctx.input_value(1);
  if (!shape_t) return ctx.defer();
  Dims out;
  SPARSIFY_RETURN_IF_ERROR(broadcast_dims(ctx, ctx.input(0).dims(), tensor_to_ints(*shape_t), &out));
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_expand(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::array<Dims, 1> strides = {broadcast_strides(x.dims(), y.dims())};
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(y.raw_data());
  for_each_broadcast<1>(y.dims(), strides, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
    std::memcpy(out + o * es, in + off[0] * es, es);
  });
  return Status();
}

Status prepare_constant_of_shape(OpContext& ctx) {
  const Tensor* shape_t = ctx.input_value(0);
  if (!shape_t) return ctx.defer();
  const Tensor* value = ctx.attr_tensor("value");
  Dims dims = tensor_to_ints(*shape_t);
  for (std::int64_t d : dims) {
    if (d < 0) return ctx.error("negative dim in shape ", dims_to_string(dims));
  }
  ctx.set_output(0, value ? value->dtype() : DType::kFloat32, dims);
  return Status();
}

Status run_constant_of_shape(OpContext& ctx) {
  const Tensor* value = ctx.attr_tensor("value");
  if (!value) return Status();  // zero-filled float32
  if (value->numel() != 1) return ctx.error("value must hold one element");
  Tensor& y = ctx.output(0);
  const std::size_t es = dtype_size(y.dtype());
  auto* out = static_cast<std::uint8_t*>(y.raw_data());
  for (std::int64_t i = 0; i < y.numel(); ++i) std::memcpy(out + i * es, value->raw_data(), es);
  return Status();
}

// Constant: exactly one of value, value_float(s), value_int(s); folded at compile time.
Status check_constant(OpContext& ctx) {
  for (const char* name : {"sparse_value", "value_string", "value_strings"}) {
    if (ctx.has_attr(name)) return ctx.unsupported_error("attribute '", name, "' is not supported");
  }
  int n = 0;
  for (const char* name : {"value", "value_float", "value_floats", "value_int", "value_ints"}) n += ctx.has_attr(name);
  if (n != 1) return ctx.error("needs exactly one value attribute, has ", n);
  return Status();
}

Status prepare_constant(OpContext& ctx) {
  if (const Tensor* t = ctx.attr_tensor("value")) ctx.set_output(0, t->dtype(), t->dims());
  else if (ctx.has_attr("value_float")) ctx.set_output(0, DType::kFloat32, {});
  else if (ctx.has_attr("value_int")) ctx.set_output(0, DType::kInt64, {});
  else if (ctx.has_attr("value_floats")) ctx.set_output(0, DType::kFloat32, {static_cast<std::int64_t>(ctx.attr_floats("value_floats").size())});
  else if (ctx.has_attr("value_ints")) ctx.set_output(0, DType::kInt64, {static_cast<std::int64_t>(ctx.attr_ints("value_ints").size())});
  else return ctx.error("has no value attribute");
  return Status();
}

Status run_constant(OpContext& ctx) {
  Tensor& y = ctx.output(0);
  if (const Tensor* t = ctx.attr_tensor("value")) {
    std::memcpy(y.raw_data(), t->raw_data(), t->nbytes());
  } else if (ctx.has_attr("value_float")) {
    *y.data<float>() = ctx.attr_float("value_float", 0);
  } else if (ctx.has_attr("value_int")) {
    *y.data<std::int64_t>() = ctx.attr_int("value_int", 0);
  } else if (ctx.has_attr("value_floats")) {
    const auto v = ctx.attr_floats("value_floats");
    std::copy(v.begin(), v.end(), y.data<float>());
  } else {
    const auto v = ctx.attr_ints("value_ints");
    std::copy(v.begin(), v.end(), y.data<std::int64_t>());
  }
  return Status();
}

}  // namespace sparsify::engine
