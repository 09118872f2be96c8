// Reference indexing ops: Gather, GatherElements, GatherND, ScatterElements, ScatterND, OneHot, Compress.
#include <cstring>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

// Resolves a possibly negative index against extent n; error via ctx when out of range.
Status resolve_index(const OpContext& ctx, std::int64_t i, std::int64_t n, std::int64_t* out) {
  if (i < -n || i >= n) return ctx.error("index ", i, " is out of range for extent ", n);
  *out = i < 0 ? i + n : i;
  return Status();
}

// Combines dst and src per a Scatter reduction attribute.
Status scatter_combine(const OpContext& ctx, const std::string& reduction, const Tensor& x, std::int64_t dst_i,
                       const Tensor& upd, std::int64_t src_i, Tensor& y) {
  return dispatch<kTypesAll>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = y.data<T>();
    const T v = upd.data<T>()[src_i];
    if (reduction == "none") {
      out[dst_i] = v;
    } else {
      const double a = to_double(out[dst_i]);
      const double b = to_double(v);
      double r;
      if (reduction == "add") r = a + b;
      else if (reduction == "mul") r = a * b;
      else if (reduction == "max") r = a > b ? a : b;
      else if (reduction == "min") r = a < b ? a : b;
      else return ctx.unsupported_error("reduction '", reduction, "' is not supported");
      out[dst_i] = from_double<T>(r);
    }
    return Status();
  });
}

}  // namespace

Status prepare_gather(OpContext& ctx) {
  const Dims& data = ctx.input(0).dims();
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(data.size()), &axis));
  Dims out(data.begin(), data.begin() + axis);
  for (std::int64_t d : ctx.input(1).dims()) out.push_back(d);
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_gather(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<std::int64_t> idx = tensor_to_ints(ctx.input(1));
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(x.rank()), &axis));
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (std::size_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const std::int64_t n = x.dim(axis);
  const std::size_t chunk = static_cast<std::size_t>(inner) * dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(ctx.output(0).raw_data());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::size_t k = 0; k < idx.size(); ++k) {
      std::int64_t i;
      SPARSIFY_RETURN_IF_ERROR(resolve_index(ctx, idx[k], n, &i));
      std::memcpy(out + (o * static_cast<std::int64_t>(idx.size()) + static_cast<std::int64_t>(k)) * chunk,
                  in + (o * n + i) * chunk, chunk);
    }
  }
  return Status();
}

Status prepare_gather_elements(OpContext& ctx) {
  if (ctx.input(0).rank() != ctx.input(1).rank()) return ctx.error("data and indices ranks differ");
  ctx.set_output(0, ctx.input(0).dtype(), ctx.input(1).dims());
  return Status();
}

Status run_gather_elements(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(x.rank()), &axis));
  const Dims xs = strides_of(x.dims());
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(ctx.output(0).raw_data());
  Dims c;
  for (std::int64_t o = 0; o < ind.numel(); ++o) {
    unravel(o, ind.dims(), c);
    std::int64_t off = 0;
    for (std::size_t d = 0; d < c.size(); ++d) {
      std::int64_t i = c[d];
      if (static_cast<std::int64_t>(d) == axis) SPARSIFY_RETURN_IF_ERROR(resolve_index(ctx, ind.element_as_int(o), x.dim(d), &i));
      else if (i >= x.dim(d)) return ctx.error("indices shape exceeds data shape on dim ", d);
      off += i * xs[d];
    }
    std::memcpy(out + o * es, in + off * es, es);
  }
  return Status();
}

Status prepare_scatter_elements(OpContext& ctx) {
  if (ctx.input(2).dtype() != ctx.input(0).dtype()) return ctx.error("updates and data types differ");
  if (ctx.input(0).rank() != ctx.input(1).rank()) return ctx.error("data and indices ranks differ");
  if (ctx.input(1).dims() != ctx.input(2).dims()) return ctx.error("indices and updates shapes differ");
  ctx.set_output(0, ctx.input(0).dtype(), ctx.input(0).dims());
  return Status();
}

Status run_scatter_elements(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  Tensor& y = ctx.output(0);
  std::memcpy(y.raw_data(), x.raw_data(), x.nbytes());
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(x.rank()), &axis));
  const std::string reduction = ctx.attr_string("reduction", "none");
  const Dims xs = strides_of(x.dims());
  Dims c;
  for (std::int64_t o = 0; o < ind.numel(); ++o) {
    unravel(o, ind.dims(), c);
    std::int64_t off = 0;
    for (std::size_t d = 0; d < c.size(); ++d) {
      std::int64_t i = c[d];
      if (static_cast<std::int64_t>(d) == axis) SPARSIFY_RETURN_IF_ERROR(resolve_index(ctx, ind.element_as_int(o), x.dim(d), &i));
      else if (i >= x.dim(d)) return ctx.error("indices shape exceeds data shape on dim ", d);
      off += i * xs[d];
    }
    SPARSIFY_RETURN_IF_ERROR(scatter_combine(ctx, reduction, x, off, upd, o, y));
  }
  return Status();
}

Status prepare_gather_nd(OpContext& ctx) {
  const Dims& data = ctx.input(0).dims();
  const Dims& ind = ctx.input(1).dims();
  const std::int64_t b = ctx.attr_int("batch_dims", 0);
  if (ind.empty()) return ctx.error("indices must have rank >= 1");
  const std::int64_t k = ind.back();
  if (b < 0 || b + k > static_cast<std::int64_t>(data.size()) || b >= static_cast<std::int64_t>(ind.size())) {
    return ctx.error("indices ", dims_to_string(ind), " do not fit data ", dims_to_string(data), " with batch_dims ", b);
  }
  Dims out(ind.begin(), ind.end() - 1);
  out.insert(out.end(), data.begin() + b + k, data.end());
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_gather_nd(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const std::int64_t b = ctx.attr_int("batch_dims", 0);
  const std::int64_t k = ind.dims().back();
  const Dims xs = strides_of(x.dims());
  std::int64_t batch = 1;
  for (std::int64_t d = 0; d < b; ++d) batch *= x.dim(d);
  std::int64_t slice = 1;
  for (std::size_t d = b + k; d < x.rank(); ++d) slice *= x.dim(d);
  const std::int64_t tuples = ind.numel() / std::max<std::int64_t>(k, 1) / std::max<std::int64_t>(batch, 1);
  const std::size_t chunk = static_cast<std::size_t>(slice) * dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(ctx.output(0).raw_data());
  const std::int64_t batch_stride = b > 0 ? xs[b - 1] : 0;
  for (std::int64_t bi = 0; bi < batch; ++bi) {
    for (std::int64_t t = 0; t < tuples; ++t) {
      const std::int64_t row = bi * tuples + t;
      std::int64_t off = bi * batch_stride;
      for (std::int64_t j = 0; j < k; ++j) {
        std::int64_t i;
        SPARSIFY_RETURN_IF_ERROR(resolve_index(ctx, ind.element_as_int(row * k + j), x.dim(b + j), &i));
        off += i * xs[b + j];
      }
      std::memcpy(out + row * chunk, in + off * dtype_size(x.dtype()), chunk);
    }
  }
  return Status();
}

Status prepare_scatter_nd(OpContext& ctx) {
  if (ctx.input(2).dtype() != ctx.input(0).dtype()) return ctx.error("updates and data types differ");
  ctx.set_output(0, ctx.input(0).dtype(), ctx.input(0).dims());
  return Status();
}

Status run_scatter_nd(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  Tensor& y = ctx.output(0);
  std::memcpy(y.raw_data(), x.raw_data(), x.nbytes());
  if (ind.rank() == 0) return ctx.error("indices must have rank >= 1");
  const std::int64_t k = ind.dims().back();
  if (k > static_cast<std::int64_t>(x.rank())) return ctx.error("index tuples longer than data rank");
  const std::string reduction = ctx.attr_string("reduction", "none");
  const Dims xs = strides_of(x.dims());
  std::int64_t slice = 1;
  for (std::size_t d = k; d < x.rank(); ++d) slice *= x.dim(d);
  const std::int64_t tuples = k == 0 ? 1 : ind.numel() / k;
  if (upd.numel() != tuples * slice) return ctx.error("updates have ", upd.numel(), " elements, expected ", tuples * slice);
  for (std::int64_t t = 0; t < tuples; ++t) {
    std::int64_t off = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      std::int64_t i;
      SPARSIFY_RETURN_IF_ERROR(resolve_index(ctx, ind.element_as_int(t * k + j), x.dim(j), &i));
      off += i * xs[j];
    }
    for (std::int64_t s = 0; s < slice; ++s) {
      SPARSIFY_RETURN_IF_ERROR(scatter_combine(ctx, reduction, x, off + s, upd, t * slice + s, y));
    }
  }
  return Status();
}

Status prepare_one_hot(OpContext& ctx) {
  const Tensor* depth = ctx.input_value(1);
  if (!depth) return ctx.defer();
  const auto d = static_cast<std::int64_t>(depth->element_as_double(0));
  if (d < 0) return ctx.error("depth ", d, " is negative");
  Dims out = ctx.input(0).dims();
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", -1), static_cast<std::int64_t>(out.size()) + 1, &axis));
  out.insert(out.begin() + axis, d);
  if (ctx.input(2).numel() != 2) return ctx.error("values must hold two elements");
  ctx.set_output(0, ctx.input(2).dtype(), out);
  return Status();
}

Status run_one_hot(OpContext& ctx) {
  const Tensor& ind = ctx.input(0);
  const auto depth = static_cast<std::int64_t>(ctx.input(1).element_as_double(0));
  Tensor& y = ctx.output(0);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", -1), static_cast<std::int64_t>(y.rank()), &axis));
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
  for (std::size_t d = axis + 1; d < y.rank(); ++d) inner *= y.dim(d);
  const std::size_t es = dtype_size(y.dtype());
  const auto* values = static_cast<const std::uint8_t*>(ctx.input(2).raw_data());
  auto* out = static_cast<std::uint8_t*>(y.raw_data());
  for (std::int64_t i = 0; i < y.numel(); ++i) std::memcpy(out + i * es, values, es);
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t in = 0; in < inner; ++in) {
      std::int64_t v = static_cast<std::int64_t>(ind.element_as_double(o * inner + in));
      if (v < 0) v += depth;
      if (v < 0 || v >= depth) continue;  // out of range: all off
      std::memcpy(out + ((o * depth + v) * inner + in) * es, values + es, es);
    }
  }
  return Status();
}

Status prepare_compress(OpContext& ctx) {
  const Tensor* cond = ctx.input_value(1);
  if (!cond) return ctx.defer();
  std::int64_t kept = 0;
  const Dims& in = ctx.input(0).dims();
  if (!ctx.has_attr("axis")) {
    for (std::int64_t i = 0; i < cond->numel() && i < dims_numel(in); ++i) kept += cond->element_as_int(i) != 0;
    ctx.set_output(0, ctx.input(0).dtype(), {kept});
    return Status();
  }
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(in.size()), &axis));
  for (std::int64_t i = 0; i < cond->numel() && i < in[axis]; ++i) kept += cond->element_as_int(i) != 0;
  Dims out = in;
  out[axis] = kept;
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_compress(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(ctx.output(0).raw_data());
  std::int64_t outer = 1, n = x.numel(), inner = 1;
  if (ctx.has_attr("axis")) {
    std::int64_t axis;
    SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(x.rank()), &axis));
    for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (std::size_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    n = x.dim(axis);
  }
  std::int64_t w = 0;
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < n && i < cond.numel(); ++i) {
      if (cond.element_as_int(i) == 0) continue;
      std::memcpy(out + w * inner * es, in + (o * n + i) * inner * es, inner * es);
      ++w;
    }
  }
  return Status();
}

}  // namespace sparsify::engine
