// Magnitude masks for LibTorch tensors: |w| to a CPU double buffer, selection in select.cc, back to a mask.
#include "sparseml/pruning/mask.h"

#include "engine/base/check.h"

namespace sparsify::ml::pruning {
namespace {

// |w| as a contiguous CPU float64 tensor (memory order = row-major over the weight's shape).
torch::Tensor abs_scores(const torch::Tensor& w) {
  return w.detach().to(torch::kCPU, torch::kFloat64).abs().contiguous();
}

torch::Tensor keep_to_mask(const torch::Tensor& keep, const torch::Tensor& w) {
  const auto dtype = w.is_floating_point() ? w.scalar_type() : torch::kFloat32;
  return keep.to(dtype).reshape(w.sizes()).to(w.device());
}

}  // namespace

std::vector<std::int64_t> shape_of(const torch::Tensor& t) { return t.sizes().vec(); }

torch::Tensor magnitude_mask(const torch::Tensor& weight, double sparsity, const recipe::MaskType& type) {
  SPARSIFY_CHECK(weight.defined());
  SPARSIFY_CHECK(check_mask_args(shape_of(weight), sparsity, type).ok());
  const torch::Tensor scores = abs_scores(weight);
  torch::Tensor keep = torch::empty({weight.numel()}, torch::kUInt8);
  magnitude_keep(scores.data_ptr<double>(), weight_layout(shape_of(weight)), sparsity, type,
                 keep.data_ptr<std::uint8_t>());
  return keep_to_mask(keep, weight);
}

std::vector<torch::Tensor> global_magnitude_masks(const std::vector<torch::Tensor>& weights, double sparsity,
                                                  const recipe::MaskType& type) {
  std::vector<torch::Tensor> scores, keeps;
  std::vector<const double*> score_ptrs;
  std::vector<std::uint8_t*> keep_ptrs;
  std::vector<WeightLayout> layouts;
  for (const torch::Tensor& w : weights) {
    SPARSIFY_CHECK(w.defined());
    SPARSIFY_CHECK(check_mask_args(shape_of(w), sparsity, type).ok());
    scores.push_back(abs_scores(w));
    keeps.push_back(torch::empty({w.numel()}, torch::kUInt8));
    score_ptrs.push_back(scores.back().data_ptr<double>());
    keep_ptrs.push_back(keeps.back().data_ptr<std::uint8_t>());
    layouts.push_back(weight_layout(shape_of(w)));
  }
  global_magnitude_keep(score_ptrs, layouts, sparsity, type, keep_ptrs);
  std::vector<torch::Tensor> masks;
  masks.reserve(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) masks.push_back(keep_to_mask(keeps[i], weights[i]));
  return masks;
}

std::int64_t count_zeros(const torch::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return 0;
  return (t.detach() == 0).sum().item<std::int64_t>();
}

double sparsity(const torch::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return 0.0;
  return static_cast<double>(count_zeros(t)) / static_cast<double>(t.numel());
}

}  // namespace sparsify::ml::pruning
