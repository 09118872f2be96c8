// Magnitude pruning masks for LibTorch weights (unstructured, block, N:M; per tensor or global).
//
// Masks hold 1 for kept and 0 for pruned weights. Layouts, block scoring, padding and the N:M
// schedule semantics are described in sparseml/pruning/select.h, which does the selection.
// These are pure functions returning tensors: invalid arguments are rejected beforehand by
// check_mask_args (a Status); LibTorch can still throw c10::Error on allocation failure, which
// callers with a Status boundary (e.g. MaskedParameters) convert.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "sparseml/pruning/select.h"
#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::pruning {

/// The mask that prunes `weight` to `sparsity` by magnitude |w| with the given mask type:
///  - unstructured: exactly std::llround(sparsity * numel) zeros, the smallest |w| first, ties
///    (e.g. weights that are already zero) broken by flat index, lower index pruned first;
///  - block [a, b]: std::llround(sparsity * num_blocks) whole blocks, lowest mean |w| first;
///  - N:M: see nm_keep in select.h.
/// The mask has the weight's shape, device and floating dtype (float32 for a non-floating weight)
/// and is a new tensor, not connected to autograd. Reads the weight without modifying it.
/// Arguments must pass check_mask_args(weight.sizes(), sparsity, type): call that first (it
/// returns a Status); this function aborts on invalid arguments, as they are a caller bug.
/// Thread-safe for distinct or read-only weights.
torch::Tensor magnitude_mask(const torch::Tensor& weight, double sparsity, const recipe::MaskType& type);

/// Masks for several weights ranked together (GlobalMagnitudePruningModifier): unstructured prunes
/// exactly std::llround(sparsity * total elements) weights across all tensors; blocks prune
/// std::llround(sparsity * total blocks) blocks; N:M is applied to each tensor separately (as
/// SparseML does). Ties go to the earlier tensor, then the lower index. One mask per weight, same
/// order, each like magnitude_mask's. Same preconditions as magnitude_mask, for every weight.
std::vector<torch::Tensor> global_magnitude_masks(const std::vector<torch::Tensor>& weights, double sparsity,
                                                  const recipe::MaskType& type);

/// Number of elements exactly equal to zero (-0.0 counts as zero; NaN does not).
std::int64_t count_zeros(const torch::Tensor& t);

/// Fraction of elements exactly equal to zero; 0 for an empty or undefined tensor.
double sparsity(const torch::Tensor& t);

/// The tensor's shape as a std::vector (for check_mask_args and ParamInfo).
std::vector<std::int64_t> shape_of(const torch::Tensor& t);

}  // namespace sparsify::ml::pruning
