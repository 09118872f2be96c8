// Reference Softmax, LogSoftmax and Hardmax (2-D coercion before opset 13, one axis from 13 on).
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace sparsify::engine {
namespace {

enum class Kind { kSoftmax, kLogSoftmax, kHardmax };

// Splits x into [outer, n, inner] rows per the opset's axis rule.
Status softmax_layout(OpContext& ctx, std::int64_t* outer, std::int64_t* n, std::int64_t* inner) {
  const Dims& d = ctx.input(0).dims();
  const auto rank = static_cast<std::int64_t>(d.size());
  const bool coerce = ctx.opset() < 13;
  std::int64_t axis;
  if (rank == 0) {
    *outer = *n = *inner = 1;
    return Status();
  }
  SPARSIFY_RETURN_IF_ERROR(normalize_axis(ctx, ctx.attr_int("axis", coerce ? 1 : -1), rank, &axis));
  *outer = 1;
  for (std::int64_t i = 0; i < axis; ++i) *outer *= d[i];
  if (coerce) {
    *n = 1;
    for (std::int64_t i = axis; i < rank; ++i) *n *= d[i];
    *inner = 1;
  } else {
    *n = d[axis];
    *inner = 1;
    for (std::int64_t i = axis + 1; i < rank; ++i) *inner *= d[i];
  }
  return Status();
}

Status run_softmax_kind(OpContext& ctx, Kind kind) {
  std::int64_t outer, n, inner;
  SPARSIFY_RETURN_IF_ERROR(softmax_layout(ctx, &outer, &n, &inner));
  const std::vector<double> v = tensor_to_doubles(ctx.input(0));
  std::vector<double> r(v.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      auto at = [&](std::int64_t k) { return (o * n + k) * inner + i; };
      double mx = -std::numeric_limits<double>::infinity();
      std::int64_t arg = 0;
      for (std::int64_t k = 0; k < n; ++k) {
        if (v[at(k)] > mx) {
          mx = v[at(k)];
          arg = k;
        }
      }
      if (kind == Kind::kHardmax) {
        for (std::int64_t k = 0; k < n; ++k) r[at(k)] = k == arg ? 1 : 0;
        continue;
      }
      double sum = 0;
      for (std::int64_t k = 0; k < n; ++k) sum += std::exp(v[at(k)] - mx);
      for (std::int64_t k = 0; k < n; ++k) {
        r[at(k)] = kind == Kind::kSoftmax ? std::exp(v[at(k)] - mx) / sum : v[at(k)] - mx - std::log(sum);
      }
    }
  }
  Tensor& y = ctx.output(0);
  return dispatch<kTypesFloat | kTypesHalf>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = y.data<T>();
    for (std::size_t i = 0; i < r.size(); ++i) out[i] = from_double<T>(r[i]);
    return Status();
  });
}

}  // namespace

Status run_softmax(OpContext& ctx) { return run_softmax_kind(ctx, Kind::kSoftmax); }
Status run_log_softmax(OpContext& ctx) { return run_softmax_kind(ctx, Kind::kLogSoftmax); }
Status run_hardmax(OpContext& ctx) { return run_softmax_kind(ctx, Kind::kHardmax); }

}  // namespace sparsify::engine
