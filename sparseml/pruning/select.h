// Magnitude-mask selection on plain arrays (which weights, blocks or N:M groups to prune): pure and torch-free.
//
// Every weight is viewed as [out, in, spatial]: dim 0, dim 1 (the input channels), and the product of
// the remaining dims; rank 1 [n] is [1, n, 1], rank 0 is [1, 1, 1]. Memory order is row-major, so
// element (o, i, s) sits at flat index (o * in + i) * spatial + s.
//
//   Linear [O, I]          -> [O, I, 1]
//   Conv   [O, I, kh, kw]  -> [O, I, kh*kw]
//
// Block [a, b] (SparseML's mask_type [a, b]; "block4" is [1, 4]) covers a consecutive output
// channels x b consecutive input channels at ONE spatial position s, so a Conv [1, 4] block is 4
// consecutive input channels of one output channel at one kernel tap (as SparseML's FourBlock and
// BlockMaskCreator lay it out). Blocks are numbered ((o / a) * ceil(I / b) + i / b) * spatial + s.
//
//        i ->  0 1 2 3 | 4 5 6 7 | 8 9          (I = 10, b = 4: the last block is padded)
//   o = 0     [ blk 0 ] [ blk 1 ] [blk2..]
//   o = 1     [ blk 3 ] [ blk 4 ] [blk5..]      (a = 1; per spatial position s)
//
// When O or I is not a multiple of the block, the last block along that dim is padded; it is scored
// by the mean |w| over its real elements only (SparseML's FourBlock pads with the mean of the
// remainder, which gives the same mean) and counts as one block.
//
// N:M groups are M consecutive input channels at one (o, s); when I is not a multiple of M the last
// group of each row has r = I mod M real elements and is treated as zero-padded: it keeps min(N, r).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/base/status.h"
#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::pruning {

/// A weight as [out, in, spatial] (see the file comment).
struct WeightLayout {
  std::int64_t out = 1, in = 1, spatial = 1;
  std::int64_t numel() const { return out * in * spatial; }
};

/// The layout of a tensor shape.
WeightLayout weight_layout(const std::vector<std::int64_t>& shape);

/// SparseML accepts an N:M target this far above 1 - N/M (and then prunes every group fully).
inline constexpr double kNmSparsityTolerance = 1e-2;

/// The highest sparsity a mask type can be asked for: 1 for unstructured and blocks,
/// 1 - N/M + kNmSparsityTolerance for N:M.
double max_sparsity(const recipe::MaskType& type);

/// Validates arguments before any mask is computed (the magnitude_mask functions abort on bad ones):
/// sparsity finite and in [0, max_sparsity(type)], block rows/cols >= 1, 1 <= N <= M. Returns
/// invalid_argument naming the values; callers add the parameter name with Status::with_prefix.
Status check_mask_args(const std::vector<std::int64_t>& shape, double sparsity, const recipe::MaskType& type);

/// Number of elements to prune for `sparsity` of `total`: std::llround(sparsity * total), clamped to [0, total].
std::int64_t num_to_prune(double sparsity, std::int64_t total);

/// Sets keep[i] = 0 for the `num_pruned` smallest scores and keep[i] = 1 for the rest. Ties are broken
/// by index (the lower index is pruned first), so the count is exact even when all scores are equal.
/// NaN scores rank as +inf (kept longest). O(n) expected time, O(n) scratch.
void select_lowest(const double* scores, std::int64_t n, std::int64_t num_pruned, std::uint8_t* keep);

/// Number of [rows, cols] blocks in a layout (padded blocks included).
std::int64_t num_blocks(const WeightLayout& layout, int rows, int cols);

/// scores[block] = mean |w| over the block's real elements; abs_w is |w| in memory order.
void block_scores(const double* abs_w, const WeightLayout& layout, int rows, int cols, double* scores);

/// keep[element] = block_keep[its block].
void expand_block_keep(const std::uint8_t* block_keep, const WeightLayout& layout, int rows, int cols,
                       std::uint8_t* keep);

/// The keep flags of one weight at `sparsity` for any mask type, from |w| in memory order (numel
/// entries). Unstructured: exactly num_to_prune(sparsity, numel) zeros. Block: num_to_prune(sparsity,
/// num_blocks) whole blocks. N:M: see nm_keep. Arguments must pass check_mask_args (aborts otherwise).
void magnitude_keep(const double* abs_w, const WeightLayout& layout, double sparsity, const recipe::MaskType& type,
                    std::uint8_t* keep);

/// N:M keep flags. SparseML only accepts an N:M target of 0 (nothing pruned) or within 1e-2 of
/// 1 - N/M (every group N:M); a gradual schedule passes through the values in between, so here a
/// target s applies the N:M pattern to a growing fraction of the groups: the
/// num_to_prune(min(1, s / (1 - N/M)), G) groups whose pruning removes the least magnitude (sum of
/// the |w| it would zero; ties: lower group index), where G counts the groups with more than N real
/// elements. At s = 0 and s >= 1 - N/M this equals SparseML. Inside a group the M - N smallest |w|
/// go (ties: lower index). Already-pruned weights make their groups cheap, so groups stay pruned
/// as the schedule advances.
void nm_keep(const double* abs_w, const WeightLayout& layout, int n, int m, double sparsity, std::uint8_t* keep);

/// Keep flags for several weights ranked together (GlobalMagnitudePruningModifier, global_sparsity):
/// unstructured prunes exactly num_to_prune(sparsity, total elements) across all weights; blocks
/// prune num_to_prune(sparsity, total blocks) blocks; N:M is applied per weight (SparseML ignores
/// global ranking for N:M, since every group must follow the pattern anyway). Ties: lower weight
/// index first, then lower element/block index.
void global_magnitude_keep(const std::vector<const double*>& abs_w, const std::vector<WeightLayout>& layouts,
                           double sparsity, const recipe::MaskType& type, const std::vector<std::uint8_t*>& keep);

}  // namespace sparsify::ml::pruning
