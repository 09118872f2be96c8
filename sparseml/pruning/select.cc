// Magnitude-mask selection: exact-count threshold selection, block scoring, N:M groups.
#include "sparseml/pruning/select.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/base/check.h"

namespace sparsify::ml::pruning {
namespace {

using recipe::MaskType;

double clean(double x) { return std::isnan(x) ? std::numeric_limits<double>::infinity() : x; }

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

double nm_full_sparsity(int n, int m) { return 1.0 - static_cast<double>(n) / m; }

// Visits the N:M groups of a layout: fn(group_index, first_flat_index, real_size); a group's elements
// sit at first + j * spatial for j < real_size.
template <class Fn>
void for_each_group(const WeightLayout& l, int m, Fn&& fn) {
  const std::int64_t groups_per_row = ceil_div(l.in, m);
  std::int64_t g = 0;
  for (std::int64_t o = 0; o < l.out; ++o)
    for (std::int64_t gi = 0; gi < groups_per_row; ++gi) {
      const std::int64_t i0 = gi * m;
      const int real = static_cast<int>(std::min<std::int64_t>(m, l.in - i0));
      for (std::int64_t s = 0; s < l.spatial; ++s, ++g) fn(g, (o * l.in + i0) * l.spatial + s, real);
    }
}

// Positions (0..real-1) of a group sorted by (|w|, position): the first real - n are pruned.
void sort_group(const double* abs_w, std::int64_t first, std::int64_t stride, int real, std::vector<int>* pos) {
  pos->resize(static_cast<std::size_t>(real));
  std::iota(pos->begin(), pos->end(), 0);
  std::sort(pos->begin(), pos->end(), [&](int a, int b) {
    const double va = clean(abs_w[first + a * stride]), vb = clean(abs_w[first + b * stride]);
    return va < vb || (va == vb && a < b);
  });
}

}  // namespace

WeightLayout weight_layout(const std::vector<std::int64_t>& shape) {
  WeightLayout l;
  if (shape.size() == 1) {
    l.in = shape[0];
  } else if (shape.size() >= 2) {
    l.out = shape[0];
    l.in = shape[1];
    for (std::size_t d = 2; d < shape.size(); ++d) l.spatial *= shape[d];
  }
  return l;
}

double max_sparsity(const MaskType& type) {
  if (type.kind == MaskType::Kind::kNM && type.m > 0)
    return std::min(1.0, nm_full_sparsity(type.n, type.m) + kNmSparsityTolerance);
  return 1.0;
}

Status check_mask_args(const std::vector<std::int64_t>& shape, double sparsity, const MaskType& type) {
  for (std::int64_t d : shape)
    if (d < 0) return invalid_argument("negative dimension ", d, " in the weight shape");
  if (!std::isfinite(sparsity) || sparsity < 0.0 || sparsity > 1.0)
    return invalid_argument("sparsity ", sparsity, " is outside [0, 1]");
  switch (type.kind) {
    case MaskType::Kind::kUnstructured: return Status::ok_status();
    case MaskType::Kind::kBlock:
      if (type.rows < 1 || type.cols < 1)
        return invalid_argument("block mask [", type.rows, ", ", type.cols, "]: rows and cols must be >= 1");
      return Status::ok_status();
    case MaskType::Kind::kNM:
      if (type.n < 1 || type.m < 1 || type.n > type.m)
        return invalid_argument("N:M mask ", type.n, ":", type.m, ": needs 1 <= N <= M");
      if (sparsity > max_sparsity(type))
        return invalid_argument("sparsity ", sparsity, " is above ", nm_full_sparsity(type.n, type.m),
                                ", the most a ", type.to_string(), " mask reaches (it keeps ", type.n, " of every ",
                                type.m, " weights)");
      return Status::ok_status();
  }
  return invalid_argument("unknown mask type");
}

std::int64_t num_to_prune(double sparsity, std::int64_t total) {
  const long long k = std::llround(sparsity * static_cast<double>(total));
  return std::clamp<std::int64_t>(k, 0, total);
}

void select_lowest(const double* scores, std::int64_t n, std::int64_t num_pruned, std::uint8_t* keep) {
  SPARSIFY_CHECK(n >= 0 && num_pruned >= 0 && num_pruned <= n);
  if (num_pruned == 0 || num_pruned == n) {
    std::fill(keep, keep + n, static_cast<std::uint8_t>(num_pruned == 0));
    return;
  }
  // Threshold t = the num_pruned-th smallest score: prune everything below t, then the first
  // (by index) of the scores equal to t until the count is reached.
  std::vector<double> v(scores, scores + n);
  for (double& x : v) x = clean(x);
  std::nth_element(v.begin(), v.begin() + (num_pruned - 1), v.end());
  const double t = v[static_cast<std::size_t>(num_pruned - 1)];
  std::int64_t below = 0;
  for (std::int64_t i = 0; i < n; ++i) below += clean(scores[i]) < t;
  std::int64_t ties_to_prune = num_pruned - below;
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = clean(scores[i]);
    bool prune = x < t;
    if (x == t && ties_to_prune > 0) prune = true, --ties_to_prune;
    keep[i] = !prune;
  }
}

std::int64_t num_blocks(const WeightLayout& l, int rows, int cols) {
  return ceil_div(l.out, rows) * ceil_div(l.in, cols) * l.spatial;
}

void block_scores(const double* abs_w, const WeightLayout& l, int rows, int cols, double* scores) {
  const std::int64_t in_blocks = ceil_div(l.in, cols);
  const std::int64_t nb = num_blocks(l, rows, cols);
  std::fill(scores, scores + nb, 0.0);
  std::int64_t flat = 0;
  for (std::int64_t o = 0; o < l.out; ++o)
    for (std::int64_t i = 0; i < l.in; ++i) {
      double* row = scores + ((o / rows) * in_blocks + i / cols) * l.spatial;
      for (std::int64_t s = 0; s < l.spatial; ++s) row[s] += abs_w[flat++];
    }
  for (std::int64_t ob = 0; ob < ceil_div(l.out, rows); ++ob)
    for (std::int64_t ib = 0; ib < in_blocks; ++ib) {
      const std::int64_t real = std::min<std::int64_t>(rows, l.out - ob * rows) * std::min<std::int64_t>(cols, l.in - ib * cols);
      double* row = scores + (ob * in_blocks + ib) * l.spatial;
      for (std::int64_t s = 0; s < l.spatial; ++s) row[s] /= static_cast<double>(real);
    }
}

void expand_block_keep(const std::uint8_t* block_keep, const WeightLayout& l, int rows, int cols,
                       std::uint8_t* keep) {
  const std::int64_t in_blocks = ceil_div(l.in, cols);
  std::int64_t flat = 0;
  for (std::int64_t o = 0; o < l.out; ++o)
    for (std::int64_t i = 0; i < l.in; ++i) {
      const std::uint8_t* row = block_keep + ((o / rows) * in_blocks + i / cols) * l.spatial;
      for (std::int64_t s = 0; s < l.spatial; ++s) keep[flat++] = row[s];
    }
}

void nm_keep(const double* abs_w, const WeightLayout& l, int n, int m, double sparsity, std::uint8_t* keep) {
  SPARSIFY_CHECK(n >= 1 && m >= n);
  std::fill(keep, keep + l.numel(), std::uint8_t{1});
  const double full = nm_full_sparsity(n, m);
  if (sparsity <= 0.0 || full <= 0.0) return;
  // Cost of each eligible group (more than n real elements): the |w| its pruning removes.
  std::vector<int> pos;
  std::vector<std::int64_t> eligible;
  std::vector<double> cost;
  for_each_group(l, m, [&](std::int64_t g, std::int64_t first, int real) {
    if (real <= n) return;
    sort_group(abs_w, first, l.spatial, real, &pos);
    double c = 0.0;
    for (int j = 0; j < real - n; ++j) c += abs_w[first + pos[static_cast<std::size_t>(j)] * l.spatial];
    eligible.push_back(g);
    cost.push_back(c);
  });
  const auto num_eligible = static_cast<std::int64_t>(eligible.size());
  const std::int64_t k = num_to_prune(std::min(1.0, sparsity / full), num_eligible);
  std::vector<std::uint8_t> group_keep(eligible.size());
  select_lowest(cost.data(), num_eligible, k, group_keep.data());
  std::size_t e = 0;
  for_each_group(l, m, [&](std::int64_t g, std::int64_t first, int real) {
    if (e >= eligible.size() || eligible[e] != g) return;
    if (!group_keep[e++]) {
      sort_group(abs_w, first, l.spatial, real, &pos);
      for (int j = 0; j < real - n; ++j) keep[first + pos[static_cast<std::size_t>(j)] * l.spatial] = 0;
    }
  });
}

void magnitude_keep(const double* abs_w, const WeightLayout& l, double sparsity, const MaskType& type,
                    std::uint8_t* keep) {
  SPARSIFY_CHECK(check_mask_args({l.out, l.in, l.spatial}, sparsity, type).ok());
  switch (type.kind) {
    case MaskType::Kind::kUnstructured:
      select_lowest(abs_w, l.numel(), num_to_prune(sparsity, l.numel()), keep);
      return;
    case MaskType::Kind::kBlock: {
      const std::int64_t nb = num_blocks(l, type.rows, type.cols);
      std::vector<double> scores(static_cast<std::size_t>(nb));
      std::vector<std::uint8_t> block_keep(static_cast<std::size_t>(nb));
      block_scores(abs_w, l, type.rows, type.cols, scores.data());
      select_lowest(scores.data(), nb, num_to_prune(sparsity, nb), block_keep.data());
      expand_block_keep(block_keep.data(), l, type.rows, type.cols, keep);
      return;
    }
    case MaskType::Kind::kNM: nm_keep(abs_w, l, type.n, type.m, sparsity, keep); return;
  }
}

void global_magnitude_keep(const std::vector<const double*>& abs_w, const std::vector<WeightLayout>& layouts,
                           double sparsity, const MaskType& type, const std::vector<std::uint8_t*>& keep) {
  SPARSIFY_CHECK(abs_w.size() == layouts.size() && keep.size() == layouts.size());
  for (const WeightLayout& l : layouts) SPARSIFY_CHECK(check_mask_args({l.out, l.in, l.spatial}, sparsity, type).ok());
  if (type.kind == MaskType::Kind::kNM) {
    for (std::size_t t = 0; t < layouts.size(); ++t) nm_keep(abs_w[t], layouts[t], type.n, type.m, sparsity, keep[t]);
    return;
  }
  const bool blocks = type.kind == MaskType::Kind::kBlock;
  std::vector<std::int64_t> offsets(layouts.size() + 1, 0);
  for (std::size_t t = 0; t < layouts.size(); ++t)
    offsets[t + 1] = offsets[t] + (blocks ? num_blocks(layouts[t], type.rows, type.cols) : layouts[t].numel());
  const std::int64_t total = offsets.back();
  std::vector<double> scores(static_cast<std::size_t>(total));
  for (std::size_t t = 0; t < layouts.size(); ++t) {
    if (blocks)
      block_scores(abs_w[t], layouts[t], type.rows, type.cols, scores.data() + offsets[t]);
    else
      std::copy(abs_w[t], abs_w[t] + layouts[t].numel(), scores.data() + offsets[t]);
  }
  std::vector<std::uint8_t> all_keep(static_cast<std::size_t>(total));
  select_lowest(scores.data(), total, num_to_prune(sparsity, total), all_keep.data());
  for (std::size_t t = 0; t < layouts.size(); ++t) {
    if (blocks)
      expand_block_keep(all_keep.data() + offsets[t], layouts[t], type.rows, type.cols, keep[t]);
    else
      std::copy(all_keep.begin() + offsets[t], all_keep.begin() + offsets[t + 1], keep[t]);
  }
}

}  // namespace sparsify::ml::pruning
