// MaskedParameters: (parameter, mask) pairs that pruning modifiers update, apply to weights and gradients.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <torch/types.h>

#include "engine/base/status.h"
#include "sparseml/recipe/recipe.h"

namespace sparsify::ml::pruning {

/// A parameter and its mask. `param` is a handle sharing storage with the model's parameter (not a
/// copy); `mask` has the parameter's shape, dtype and device, 1 = kept, 0 = pruned.
struct ParamMask {
  std::string name;
  torch::Tensor param;
  torch::Tensor mask;
};

/// The parameters one pruning modifier controls, with their masks. Typical training step:
///   loss.backward(); masked.mask_gradients(); optimizer.step(); masked.apply();
/// (apply() after the step re-zeroes weights that momentum or weight decay moved.)
/// Holds tensor handles, which keep the parameters' storage alive. Not thread-safe; every method
/// that returns Status converts LibTorch exceptions into a Status.
class MaskedParameters {
 public:
  /// Adds a parameter with an all-ones mask. invalid_argument for an undefined or non-floating
  /// tensor or a name already added.
  Status add(const std::string& name, const torch::Tensor& param);

  /// Number of parameters added.
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  /// The (name, param, mask) entries in the order added; valid until the next add().
  const std::vector<ParamMask>& entries() const { return entries_; }
  /// Index of `name`, or -1.
  int find(const std::string& name) const;

  /// Replaces the mask of entry i with `mask` (converted to the parameter's dtype and device).
  /// invalid_argument when i is out of range, the shape differs or a value is not 0 or 1.
  Status set_mask(std::size_t i, const torch::Tensor& mask);

  /// Recomputes every mask by magnitude at `sparsity` (magnitude_mask per parameter, or
  /// global_magnitude_masks when `global`). Does not touch the weights; call apply() for that.
  /// invalid_argument (naming the parameter) when check_mask_args rejects the arguments.
  Status update_masks(double sparsity, const recipe::MaskType& type, bool global);
  /// Recomputes the mask of entry i alone (one target of a GMP sparsity map).
  Status update_mask(std::size_t i, double sparsity, const recipe::MaskType& type);

  /// Constant mode (ConstantPruningModifier): each mask becomes (param != 0), so the zeros the
  /// weights already have are held through training.
  Status masks_from_zeros();

  /// param *= mask for every entry, in place under torch::NoGradGuard.
  Status apply();
  /// grad *= mask for every entry whose gradient is defined (call between backward and step).
  Status mask_gradients();

  /// Measured sparsity of the weights: exact zeros over all elements of all parameters.
  double weight_sparsity() const;
  /// Sparsity the masks prescribe: zeros in the masks over all elements.
  double mask_sparsity() const;
  /// Measured sparsity of each parameter, in entry order.
  std::vector<double> weight_sparsities() const;

 private:
  std::vector<ParamMask> entries_;
};

}  // namespace sparsify::ml::pruning
