// Reference data-movement ops: Transpose, Concat, Split, Slice, Tile, Pad, DepthToSpace, SpaceToDepth.
#include <algorithm>
#include <cstring>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

std::vector<std::int64_t> transpose_perm(const OpContext& ctx, std::size_t rank) {
  std::vector<std::int64_t> perm = ctx.attr_ints("perm");
  if (perm.empty()) {
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(static_cast<std::int64_t>(rank - 1 - i));
  }
  return perm;
}

// Resolved Slice parameters per input dim: start and step (dims not sliced: 0 and 1).
struct SliceParams {
  Dims starts, steps, out_dims;
};

Status slice_params(OpContext& ctx, SliceParams* p, bool* known) {
  *known = true;
  const Dims& in = ctx.input(0).dims();
  const auto rank = static_cast<std::int64_t>(in.size());
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attr_ints("starts");
    ends = ctx.attr_ints("ends");
    axes = ctx.attr_ints("axes");
  } else {
    for (std::size_t i = 1; i < 5; ++i) {
      if (ctx.has_input(i) && !ctx.input_value(i)) {
        *known = false;
        return Status();
      }
    }
    starts = tensor_to_ints(ctx.input(1));
    ends = tensor_to_ints(ctx.input(2));
    if (ctx.has_input(3)) axes = tensor_to_ints(ctx.input(3));
    if (ctx.has_input(4)) steps = tensor_to_ints(ctx.input(4));
  }
  if (axes.empty()) {
    for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || starts.size() != axes.size() || starts.size() != steps.size()) {
    return ctx.error("starts, ends, axes and steps differ in length");
  }
  p->starts.assign(rank, 0);
  p->steps.assign(rank, 1);
  p->out_dims = in;
  std::vector<bool> seen(rank, false);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    std::int64_t axis;
    SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, axes[i], rank, &axis));
    if (seen[axis]) return ctx.error("axis ", axes[i], " is repeated");
    seen[axis] = true;
    const std::int64_t dim = in[axis];
    const std::int64_t step = steps[i];
    if (step == 0) return ctx.error("step is 0 on axis ", axes[i]);
    std::int64_t start = starts[i];
    std::int64_t end = ends[i];
    if (start < 0) start += dim;
    if (end < 0 && end > std::numeric_limits<std::int64_t>::min() + dim) end += dim;
    if (step > 0) {
      start = std::clamp<std::int64_t>(start, 0, dim);
      end = std::clamp<std::int64_t>(end, 0, dim);
    } else {
      start = std::clamp<std::int64_t>(start, 0, dim - 1);
      end = std::clamp<std::int64_t>(end, -1, dim - 1);
    }
    std::int64_t n = 0;
    if (step > 0 && end > start) n = (end - start + step - 1) / step;
    if (step < 0 && start > end) n = (start - end + (-step) - 1) / (-step);
    p->starts[axis] = start;
    p->steps[axis] = step;
    p->out_dims[axis] = n;
  }
  return Status();
}

std::vector<std::int64_t> split_sizes(OpContext& ctx, std::int64_t dim, bool* known) {
  *known = true;
  std::vector<std::int64_t> split;
  if (ctx.opset() < 13) {
    split = ctx.attr_ints("split");
  } else if (ctx.has_input(1)) {
    if (!ctx.input_value(1)) {
      *known = false;
      return {};
    }
    split = tensor_to_ints(ctx.input(1));
  }
  if (split.empty()) {
    const auto n = static_cast<std::int64_t>(ctx.num_outputs());
    const std::int64_t chunk = (dim + n - 1) / n;  // opset 18 rule; equal when divisible
    for (std::int64_t i = 0; i < n; ++i) split.push_back(std::max<std::int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  return split;
}

}  // namespace

Status prepare_transpose(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  const std::vector<std::int64_t> perm = transpose_perm(ctx, in.size());
  if (perm.size() != in.size()) return ctx.error("perm has ", perm.size(), " entries for rank ", in.size());
  std::vector<bool> seen(in.size(), false);
  Dims out;
  for (std::int64_t p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(in.size()) || seen[p]) return ctx.error("perm is not a permutation");
    seen[p] = true;
    out.push_back(in[p]);
  }
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_transpose(OpContext& ctx) {
  permute_copy(ctx.input(0), ctx.input(0).dims(), transpose_perm(ctx, ctx.input(0).rank()), ctx.output(0));
  return Status();
}

Status prepare_concat(OpContext& ctx) {
  if (ctx.num_inputs() == 0) return ctx.error("needs inputs");
  const Tensor& first = ctx.input(0);
  const auto rank = static_cast<std::int64_t>(first.rank());
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), rank, &axis));
  Dims out = first.dims();
  out[axis] = 0;
  for (std::size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != first.dtype() || static_cast<std::int64_t>(t.rank()) != rank) {
      return ctx.error("input ", i, " is ", t.describe(), ", input 0 is ", first.describe());
    }
    for (std::int64_t d = 0; d < rank; ++d) {
      if (d != axis && t.dim(d) != first.dim(d)) {
        return ctx.error("input ", i, " is ", t.describe(), ", input 0 is ", first.describe(), " (axis ", axis, ")");
      }
    }
    out[axis] += t.dim(axis);
  }
  ctx.set_output(0, first.dtype(), out);
  return Status();
}

Status run_concat(OpContext& ctx) {
  Tensor& y = ctx.output(0);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(y.rank()), &axis));
  std::int64_t outer = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
  const std::size_t es = dtype_size(y.dtype());
  const std::size_t out_row = static_cast<std::size_t>(y.numel() / std::max<std::int64_t>(outer, 1)) * es;
  auto* out = static_cast<std::uint8_t*>(y.raw_data());
  std::size_t col = 0;
  for (std::size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (outer == 0) break;
    const std::size_t row = static_cast<std::size_t>(t.numel() / outer) * es;
    const auto* in = static_cast<const std::uint8_t*>(t.raw_data());
    for (std::int64_t o = 0; o < outer; ++o) std::memcpy(out + o * out_row + col, in + o * row, row);
    col += row;
  }
  return Status();
}

Status prepare_split(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(in.size()), &axis));
  bool known;
  const std::vector<std::int64_t> split = split_sizes(ctx, in[axis], &known);
  if (!known) return ctx.defer();
  if (split.size() != ctx.num_outputs()) return ctx.error("split has ", split.size(), " parts for ", ctx.num_outputs(), " outputs");
  std::int64_t total = 0;
  for (std::size_t i = 0; i < split.size(); ++i) {
    if (split[i] < 0) return ctx.error("negative split size");
    total += split[i];
    Dims d = in;
    d[axis] = split[i];
    ctx.set_output(i, ctx.input(0).dtype(), d);
  }
  if (total != in[axis]) return ctx.error("split sizes sum to ", total, ", axis ", axis, " has ", in[axis]);
  return Status();
}

Status run_split(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::int64_t axis;
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", 0), static_cast<std::int64_t>(x.rank()), &axis));
  std::int64_t outer = 1;
  for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  if (outer == 0) return Status();
  const std::size_t es = dtype_size(x.dtype());
  const std::size_t in_row = static_cast<std::size_t>(x.numel() / outer) * es;
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  std::size_t col = 0;
  for (std::size_t i = 0; i < ctx.num_outputs(); ++i) {
    Tensor& y = ctx.output(i);
    const std::int64_t n = dims_numel(y.dims());
    const std::size_t row = static_cast<std::size_t>(n / outer) * es;
    if (ctx.has_output(i)) {
      auto* out = static_cast<std::uint8_t*>(y.raw_data());
      for (std::int64_t o = 0; o < outer; ++o) std::memcpy(out + o * row, in + o * in_row + col, row);
    }
    col += row;
  }
  return Status();
}

Status prepare_slice(OpContext& ctx) {
  SliceParams p;
  bool known;
  SPARSIFY_RETURN_IF_ERROR(slice_params(ctx, &p, &known));
  if (!known) return ctx.defer();
  ctx.set_output(0, ctx.input(0).dtype(), p.out_dims);
  return Status();
}

Status run_slice(OpContext& ctx) {
  SliceParams p;
  bool known;
  SPARSIFY_RETURN_IF_ERROR(slice_params(ctx, &p, &known));
  const Tensor& x = ctx.input(0);
  const Dims in_strides = strides_of(x.dims());
  std::int64_t base = 0;
  std::array<Dims, 1> strides = {Dims(x.rank())};
  for (std::size_t d = 0; d < x.rank(); ++d) {
    base += p.starts[d] * in_strides[d];
    strides[0][d] = p.steps[d] * in_strides[d];
  }
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(ctx.output(0).raw_data());
  for_each_broadcast<1>(p.out_dims, strides, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
    std::memcpy(out + o * es, in + (base + off[0]) * es, es);
  });
  return Status();
}

Status prepare_tile(OpContext& ctx) {
  const Tensor* reps = ctx.input_value(1);
  if (!reps) return ctx.defer();
  const std::vector<std::int64_t> r = tensor_to_ints(*reps);
  const Dims& in = ctx.input(0).dims();
  if (r.size() != in.size()) return ctx.error("repeats has ", r.size(), " entries for rank ", in.size());
  Dims out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (r[i] < 0) return ctx.error("negative repeat");
    out[i] = in[i] * r[i];
  }
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_tile(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const Dims in_strides = strides_of(x.dims());
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(y.raw_data());
  Dims c;
  for (std::int64_t o = 0; o < y.numel(); ++o) {
    unravel(o, y.dims(), c);
    std::int64_t off = 0;
    for (std::size_t d = 0; d < c.size(); ++d) off += (c[d] % x.dim(d)) * in_strides[d];
    std::memcpy(out + o * es, in + off * es, es);
  }
  return Status();
}

// Pad: pads/value are attributes before opset 11, inputs from 11 on (axes input from 18).
Status pad_params(OpContext& ctx, std::vector<std::int64_t>* pads, bool* known) {
  *known = true;
  const auto rank = ctx.input(0).rank();
  if (ctx.opset() < 11) {
    *pads = ctx.attr_ints(ctx.opset() < 2 ? "paddings" : "pads");
  } else {
    const Tensor* p = ctx.input_value(1);
    if (!p || (ctx.has_input(2) && !ctx.input_value(2))) {
      *known = false;
      return Status();
    }
    *pads = tensor_to_ints(*p);
    if (ctx.has_input(3)) return ctx.unsupported_error("the axes input is not supported");
  }
  if (pads->size() != 2 * rank) return ctx.error("pads has ", pads->size(), " entries for rank ", rank);
  return Status();
}

Status check_slice(OpContext& ctx) {
  if (ctx.opset() >= 10 && (!node_has_input(ctx.node(), 1) || !node_has_input(ctx.node(), 2))) {
    return ctx.error("starts and ends inputs are required from opset 10");
  }
  return Status();
}

Status check_pad(OpContext& ctx) {
  if (ctx.opset() >= 11 && !node_has_input(ctx.node(), 1)) return ctx.error("the pads input is required from opset 11");
  const std::string mode = ctx.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    return ctx.unsupported_error("mode '", mode, "' is not supported");
  }
  return Status();
}

Status prepare_pad(OpContext& ctx) {
  std::vector<std::int64_t> pads;
  bool known;
  SPARSIFY_RETURN_IF_ERROR(pad_params(ctx, &pads, &known));
  if (!known) return ctx.defer();
  const Dims& in = ctx.input(0).dims();
  Dims out(in.size());
  for (std::size_t d = 0; d < in.size(); ++d) {
    out[d] = in[d] + pads[d] + pads[d + in.size()];
    if (out[d] < 0) return ctx.error("pads ", dims_to_string(pads), " remove more than dim ", d, " holds");
  }
  ctx.set_output(0, ctx.input(0).dtype(), out);
  return Status();
}

Status run_pad(OpContext& ctx) {
  std::vector<std::int64_t> pads;
  bool known;
  SPARSIFY_RETURN_IF_ERROR(pad_params(ctx, &pads, &known));
  const std::string mode = ctx.attr_string("mode", "constant");
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::size_t rank = x.rank();
  for (std::size_t d = 0; d < rank; ++d) {
    if (mode != "constant" && x.dim(d) == 0 && y.dim(d) > 0) return ctx.error("cannot ", mode, "-pad an empty dim");
  }
  // The fill value, converted to x's dtype, as bytes.
  Tensor fill(x.dtype(), {});
  if (ctx.opset() < 11) {
    const double v = ctx.attr_float("value", 0.0f);
    SPARSIFY_RETURN_IF_ERROR(dispatch<kTypesAll>(x.dtype(), [&](auto t) {
      *fill.data<decltype(t)>() = from_double<decltype(t)>(v);
      return Status();
    }));
  } else if (const Tensor* v = ctx.input_value(2)) {
    if (v->dtype() != x.dtype()) return ctx.error("constant_value type ", dtype_name(v->dtype()), " differs from data");
    if (v->numel() > 0) std::memcpy(fill.raw_data(), v->raw_data(), dtype_size(x.dtype()));
  }
  const Dims in_strides = strides_of(x.dims());
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(y.raw_data());
  Dims c;
  for (std::int64_t o = 0; o < y.numel(); ++o) {
    unravel(o, y.dims(), c);
    std::int64_t off = 0;
    bool inside = true;
    for (std::size_t d = 0; d < rank; ++d) {
      std::int64_t i = c[d] - pads[d];
      const std::int64_t n = x.dim(d);
      if (i < 0 || i >= n) {
        if (mode == "constant") {
          inside = false;
          break;
        }
        if (mode == "edge") {
          i = std::clamp<std::int64_t>(i, 0, n - 1);
        } else {  // reflect (without repeating the edge)
          if (n == 1) {
            i = 0;
          } else {
            const std::int64_t period = 2 * (n - 1);
            i = ((i % period) + period) % period;
            if (i >= n) i = period - i;
          }
        }
      }
      off += i * in_strides[d];
    }
    std::memcpy(out + o * es, inside ? in + off * es : static_cast<const std::uint8_t*>(fill.raw_data()), es);
  }
  return Status();
}

Status check_depth_space(OpContext& ctx) {
  if (ctx.attr_int("blocksize", 0) <= 0) return ctx.error("blocksize must be positive");
  const std::string mode = ctx.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") return ctx.error("mode must be DCR or CRD, got '", mode, "'");
  return Status();
}

Status prepare_depth_to_space(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  const std::int64_t bs = ctx.attr_int("blocksize", 1);
  if (in.size() != 4 || in[1] % (bs * bs) != 0) return ctx.error("input ", dims_to_string(in), " does not fit blocksize ", bs);
  ctx.set_output(0, ctx.input(0).dtype(), {in[0], in[1] / (bs * bs), in[2] * bs, in[3] * bs});
  return Status();
}

Status run_depth_to_space(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  const std::int64_t bs = ctx.attr_int("blocksize", 1);
  const std::int64_t c = in[1] / (bs * bs);
  if (ctx.attr_string("mode", "DCR") == "DCR") {
    permute_copy(ctx.input(0), {in[0], bs, bs, c, in[2], in[3]}, {0, 3, 4, 1, 5, 2}, ctx.output(0));
  } else {
    permute_copy(ctx.input(0), {in[0], c, bs, bs, in[2], in[3]}, {0, 1, 4, 2, 5, 3}, ctx.output(0));
  }
  return Status();
}

Status prepare_space_to_depth(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  const std::int64_t bs = ctx.attr_int("blocksize", 1);
  if (in.size() != 4 || in[2] % bs != 0 || in[3] % bs != 0) {
    return ctx.error("input ", dims_to_string(in), " does not fit blocksize ", bs);
  }
  ctx.set_output(0, ctx.input(0).dtype(), {in[0], in[1] * bs * bs, in[2] / bs, in[3] / bs});
  return Status();
}

Status run_space_to_depth(OpContext& ctx) {
  const Dims& in = ctx.input(0).dims();
  const std::int64_t bs = ctx.attr_int("blocksize", 1);
  permute_copy(ctx.input(0), {in[0], in[1], in[2] / bs, bs, in[3] / bs, bs}, {0, 3, 5, 1, 2, 4}, ctx.output(0));
  return Status();
}

}  // namespace sparsify::engine
