// Helpers shared by the reference ops: axes, strides, numpy broadcasting and tensor reading.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "engine/ops/op_kernel.h"

namespace sparsify::engine {

/// Row-major strides (in elements) of dims.
Dims strides_of(const Dims& dims);

/// Maps axis in [-rank, rank) to [0, rank); invalid_argument via ctx otherwise.
Status normalize_axis(const OpContext& ctx, std::int64_t axis, std::int64_t rank, std::int64_t* out);

/// numpy broadcast of two shapes; invalid_argument via ctx when incompatible.
Status broadcast_dims(const OpContext& ctx, const Dims& a, const Dims& b, Dims* out);

/// Strides of `in` aligned to the trailing dims of `out`, 0 on broadcast dims (rank(out) entries).
Dims broadcast_strides(const Dims& in, const Dims& out);

/// Contents of an integer tensor as int64 (any integer dtype).
std::vector<std::int64_t> tensor_to_ints(const Tensor& t);
/// Contents of any numeric tensor as double.
std::vector<double> tensor_to_doubles(const Tensor& t);

/// Calls f(o, offsets) for each output element o in row-major order, where offsets[k] is the
/// element offset into input k given its (broadcast) strides over `out`.
template <std::size_t N, class F>
void for_each_broadcast(const Dims& out, const std::array<Dims, N>& strides, F&& f) {
  const std::size_t rank = out.size();
  const std::int64_t total = dims_numel(out);
  if (total == 0) return;
  std::array<std::int64_t, N> off{};
  Dims counter(rank, 0);
  for (std::int64_t o = 0; o < total; ++o) {
    f(o, off);
    for (std::size_t d = rank; d-- > 0;) {
      for (std::size_t k = 0; k < N; ++k) off[k] += strides[k][d];
      if (++counter[d] < out[d]) break;
      for (std::size_t k = 0; k < N; ++k) off[k] -= strides[k][d] * out[d];
      counter[d] = 0;
    }
  }
}

/// Unravels a flat row-major index into coordinates.
inline void unravel(std::int64_t index, const Dims& dims, Dims& coords) {
  coords.resize(dims.size());
  for (std::size_t d = dims.size(); d-- > 0;) {
    const std::int64_t n = dims[d] == 0 ? 1 : dims[d];
    coords[d] = index % n;
    index /= n;
  }
}

/// Copies x (viewed with `view` dims, same element count) into y transposed by `perm`:
/// y's dims are view[perm[0]], view[perm[1]], ... Element size taken from x's dtype.
void permute_copy(const Tensor& x, const Dims& view, const std::vector<std::int64_t>& perm, Tensor& y);

}  // namespace sparsify::engine
