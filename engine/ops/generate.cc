// Reference generators and scans: Range, Trilu, EyeLike, CumSum, TopK, NonZero, Shrink, ReverseSequence.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "engine/ops/op_util.h"

namespace sparsify::engine {

Status prepare_range(OpContext& ctx) {
  const Tensor* start = ctx.input_value(0);
  const Tensor* limit = ctx.input_value(1);
  const Tensor* delta = ctx.input_value(2);
  if (!start || !limit || !delta) return ctx.defer();
  if (start->dtype() != limit->dtype() || start->dtype() != delta->dtype() || start->numel() != 1 ||
      limit->numel() != 1 || delta->numel() != 1) {
    return ctx.error("start, limit and delta must be scalars of one type");
  }
  const double d = delta->element_as_double(0);
  if (d == 0) return ctx.error("delta is 0");
  const double n = std::ceil((limit->element_as_double(0) - start->element_as_double(0)) / d);
  if (!std::isfinite(n) || std::fabs(n) > 9.0e18) return ctx.error("the length ceil((limit - start) / delta) = ", n, " is not a finite int64");
  ctx.set_output(0, start->dtype(), {std::max<std::int64_t>(0, static_cast<std::int64_t>(n))});
  return Status();
}

Status run_range(OpContext& ctx) {
  Tensor& y = ctx.output(0);
  return dispatch<kTypesNumeric>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T start = ctx.input(0).data<T>()[0];
    const T delta = ctx.input(2).data<T>()[0];
    T* o = y.data<T>();
    for (std::int64_t i = 0; i < y.numel(); ++i) o[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    return Status();
  });
}

Status run_trilu(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("input must have rank >= 2");
  const std::int64_t k = ctx.has_input(1) ? ctx.input(1).element_as_int(0) : 0;
  const bool upper = ctx.attr_int("upper", 1) != 0;
  const std::int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  const std::size_t es = dtype_size(x.dtype());
  std::memcpy(ctx.output(0).raw_data(), x.raw_data(), x.nbytes());
  auto* out = static_cast<std::uint8_t*>(ctx.output(0).raw_data());
  const std::int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  for (std::int64_t m = 0; m < mats; ++m)
  for (std::int64_t i = 0; i < rows; ++i)
  for (std::int64_t j = 0; j < cols; ++j) {
    const bool keep = upper ? j - i >= k : j - i <= k;
    if (!keep) std::memset(out + ((m * rows + i) * cols + j) * es, 0, es);
  }
  return Status();
}

Status prepare_eye_like(OpContext& ctx) {
  if (ctx.input(0).rank() != 2) return ctx.error("input must be 2-D");
  DType dt = ctx.input(0).dtype();
  if (ctx.has_attr("dtype")) {
    SPARSIFY_ASSIGN_OR_RETURN(dt, dtype_from_onnx(static_cast<int>(ctx.attr_int("dtype", 1))));
  }
  ctx.set_output(0, dt, ctx.input(0).dims());
  return Status();
}

Status run_eye_like(OpContext& ctx) {
  Tensor& y = ctx.output(0);
  const std::int64_t k = ctx.attr_int("k", 0);
  return dispatch<kTypesAll>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = y.data<T>();
    for (std::int64_t i = 0; i < y.dim(0); ++i) {
      const std::int64_t j = i + k;
      if (j >= 0 && j < y.dim(1)) o[i * y.dim(1) + j] = from_double<T>(1.0);
    }
    return Status();
  });
}

Status run_cum_sum(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.input(1).element_as_int(0), static_cast<std::int64_t>(x.rank()), &axis));
  const bool exclusive = ctx.attr_int("exclusive", 0) != 0;
  const bool reverse = ctx.attr_int("reverse", 0) != 0;
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (std::size_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const std::int64_t n = x.dim(axis);
  return dispatch<kTypesNumeric>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = ctx.output(0).data<T>();
    for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) {
      T acc = 0;
      for (std::int64_t s = 0; s < n; ++s) {
        const std::int64_t k = reverse ? n - 1 - s : s;
        const std::int64_t at = (o * n + k) * inner + i;
        if (exclusive) {
          out[at] = acc;
          acc = static_cast<T>(acc + in[at]);
        } else {
          acc = static_cast<T>(acc + in[at]);
          out[at] = acc;
        }
      }
    }
    return Status();
  });
}

Status check_top_k(OpContext& ctx) {
  if (ctx.opset() >= 10 && !node_has_input(ctx.node(), 1)) return ctx.error("the K input is required from opset 10");
  return Status();
}

Status prepare_top_k(OpContext& ctx) {
  std::int64_t k;
  if (ctx.opset() < 10) {
    k = ctx.attr_int("k", -1);
  } else {
    const Tensor* kt = ctx.input_value(1);
    if (!kt) return ctx.defer();
    k = kt->element_as_int(0);
  }
  const Dims& x = ctx.input(0).dims();
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", -1), static_cast<std::int64_t>(x.size()), &axis));
  if (k < 0 || k > x[axis]) return ctx.error("k ", k, " is out of range for axis extent ", x[axis]);
  Dims out = x;
  out[axis] = k;
  ctx.set_output(0, ctx.input(0).dtype(), out);
  ctx.set_output(1, DType::kInt64, out);
  return Status();
}

Status run_top_k(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", -1), static_cast<std::int64_t>(x.rank()), &axis));
  const std::int64_t k = ctx.output(0).dim(axis);
  const bool largest = ctx.attr_int("largest", 1) != 0;
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (std::size_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const std::int64_t n = x.dim(axis);
  const std::vector<double> v = tensor_to_doubles(x);
  std::vector<double> vals(static_cast<std::size_t>(ctx.output(0).numel()));
  std::int64_t* idx = ctx.output(1).data<std::int64_t>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t o = 0; o < outer; ++o)
  for (std::int64_t i = 0; i < inner; ++i) {
    std::iota(order.begin(), order.end(), 0);
    auto at = [&](std::int64_t j) { return v[(o * n + j) * inner + i]; };
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      return largest ? at(a) > at(b) : at(a) < at(b);  // stable: equal values keep the lower index first
    });
    for (std::int64_t j = 0; j < k; ++j) {
      vals[(o * k + j) * inner + i] = at(order[j]);
      idx[(o * k + j) * inner + i] = order[j];
    }
  }
  return dispatch<kTypesNumeric | kTypesHalf>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = ctx.output(0).data<T>();
    for (std::size_t j = 0; j < vals.size(); ++j) out[j] = from_double<T>(vals[j]);
    return Status();
  });
}

// NonZero's output extent depends on the contents: known at compile time only for constants.
Status prepare_non_zero(OpContext& ctx) {
  const Tensor* x = ctx.input_value(0);
  if (!x) return ctx.defer();
  std::int64_t nnz = 0;
  for (std::int64_t i = 0; i < x->numel(); ++i) nnz += x->element_as_double(i) != 0;
  ctx.set_output(0, DType::kInt64, {static_cast<std::int64_t>(x->rank()), nnz});
  return Status();
}

Status run_non_zero(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::int64_t nnz = ctx.output(0).dim(1);
  std::int64_t* out = ctx.output(0).data<std::int64_t>();
  Dims c;
  std::int64_t w = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    if (x.element_as_double(i) == 0) continue;
    unravel(i, x.dims(), c);
    for (std::size_t d = 0; d < c.size(); ++d) out[d * nnz + w] = c[d];
    ++w;
  }
  return Status();
}

Status run_shrink(OpContext& ctx) {
  const double lambd = ctx.attr_float("lambd", 0.5f), bias = ctx.attr_float("bias", 0.0f);
  const Tensor& x = ctx.input(0);
  return dispatch<kTypesNumeric | kTypesHalf>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = ctx.output(0).data<T>();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double v = to_double(in[i]);
      out[i] = from_double<T>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
    }
    return Status();
  });
}

Status run_reverse_sequence(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<std::int64_t> lens = tensor_to_ints(ctx.input(1));
  const std::int64_t t_axis = ctx.attr_int("time_axis", 0), b_axis = ctx.attr_int("batch_axis", 1);
  if (x.rank() < 2 || (t_axis != 0 && t_axis != 1) || b_axis != 1 - t_axis) return ctx.error("time_axis and batch_axis must be 0 and 1");
  if (static_cast<std::int64_t>(lens.size()) != x.dim(b_axis)) return ctx.error("sequence_lens must have one entry per batch");
  const Dims xs = strides_of(x.dims());
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(ctx.output(0).raw_data());
  Dims c;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    unravel(i, x.dims(), c);
    const std::int64_t len = lens[c[b_axis]];
    if (len < 0 || len > x.dim(t_axis)) return ctx.error("sequence length ", len, " is out of range");
    std::int64_t src = i;
    if (c[t_axis] < len) src += (len - 1 - 2 * c[t_axis]) * xs[t_axis];
    std::memcpy(out + i * es, in + src * es, es);
  }
  return Status();
}

}  // namespace sparsify::engine
