// Shared op helpers and OpContext attribute accessors.
#include "engine/ops/op_util.h"

#include <cstring>

namespace sparsify::engine {

std::int64_t OpContext::attr_int(const char* name, std::int64_t fallback) const {
  const Attribute* a = node_.find_attribute(name);
  return a && a->kind == Attribute::Kind::kInt ? a->i : fallback;
}

float OpContext::attr_float(const char* name, float fallback) const {
  const Attribute* a = node_.find_attribute(name);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::kFloat) return a->f;
  if (a->kind == Attribute::Kind::kInt) return static_cast<float>(a->i);
  return fallback;
}

std::string OpContext::attr_string(const char* name, const std::string& fallback) const {
  const Attribute* a = node_.find_attribute(name);
  return a && a->kind == Attribute::Kind::kString ? a->s : fallback;
}

std::vector<std::int64_t> OpContext::attr_ints(const char* name, std::vector<std::int64_t> fallback) const {
  const Attribute* a = node_.find_attribute(name);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::kInts) return a->ints;
  if (a->kind == Attribute::Kind::kInt) return {a->i};
  return fallback;
}

std::vector<float> OpContext::attr_floats(const char* name, std::vector<float> fallback) const {
  const Attribute* a = node_.find_attribute(name);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::kFloats) return a->floats;
  if (a->kind == Attribute::Kind::kFloat) return {a->f};
  return fallback;
}

const Tensor* OpContext::attr_tensor(const char* name) const {
  const Attribute* a = node_.find_attribute(name);
  return a && a->kind == Attribute::Kind::kTensor ? &a->t : nullptr;
}

Dims strides_of(const Dims& dims) {
  Dims s(dims.size(), 1);
  for (std::size_t d = dims.size(); d-- > 1;) s[d - 1] = s[d] * dims[d];
  return s;
}

Status normalize_axis(const OpContext& ctx, std::int64_t axis, std::int64_t rank, std::int64_t* out) {
  if (axis < -rank || axis >= rank) {
    return ctx.error("axis ", axis, " is out of range for rank ", rank);
  }
  *out = axis < 0 ? axis + rank : axis;
  return Status();
}

Status broadcast_dims(const OpContext& ctx, const Dims& a, const Dims& b, Dims* out) {
  const std::size_t rank = std::max(a.size(), b.size());
  Dims result(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return ctx.error("shapes ", dims_to_string(a), " and ", dims_to_string(b), " do not broadcast");
    }
    result[i] = da == 1 ? db : da;
  }
  *out = std::move(result);  // out may alias a or b
  return Status();
}

Dims broadcast_strides(const Dims& in, const Dims& out) {
  Dims s(out.size(), 0);
  const Dims own = strides_of(in);
  const std::size_t lead = out.size() - in.size();
  for (std::size_t i = 0; i < in.size(); ++i) s[lead + i] = in[i] == 1 ? 0 : own[i];
  return s;
}

std::vector<std::int64_t> tensor_to_ints(const Tensor& t) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(t.numel()));
  for (std::int64_t i = 0; i < t.numel(); ++i) v[i] = t.element_as_int(i);
  return v;
}

std::vector<double> tensor_to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (std::int64_t i = 0; i < t.numel(); ++i) v[i] = t.element_as_double(i);
  return v;
}

void permute_copy(const Tensor& x, const Dims& view, const std::vector<std::int64_t>& perm, Tensor& y) {
  const Dims in_strides = strides_of(view);
  Dims out_dims(perm.size());
  std::array<Dims, 1> strides = {Dims(perm.size())};
  for (std::size_t d = 0; d < perm.size(); ++d) {
    out_dims[d] = view[perm[d]];
    strides[0][d] = in_strides[perm[d]];
  }
  const std::size_t es = dtype_size(x.dtype());
  const auto* in = static_cast<const std::uint8_t*>(x.raw_data());
  auto* out = static_cast<std::uint8_t*>(y.raw_data());
  for_each_broadcast<1>(out_dims, strides, [&](std::int64_t o, const std::array<std::int64_t, 1>& off) {
    std::memcpy(out + o * es, in + off[0] * es, es);
  });
}

}  // namespace sparsify::engine
