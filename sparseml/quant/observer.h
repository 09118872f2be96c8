// Min/max observers and fake quantization with PyTorch's (and so SparseML's) QAT numerics.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace sparsify::ml::quant {

/// The integer range of a quantizer and how its zero point is chosen.
struct QuantRange {
  std::int64_t quant_min = 0;
  std::int64_t quant_max = 255;
  bool symmetric = false;  // true: zero point 0 (signed) and scale from max(|min|, |max|)
};

/// Weights: signed, symmetric, full range ([-128, 127] for 8 bits), as PyTorch's
/// default_per_channel_weight_fake_quant (reduce_range does not apply to weights).
QuantRange weight_range(int bits);

/// Activations: unsigned, asymmetric ([0, 255] for 8 bits); reduce_range halves the top ([0, 127]),
/// as torch.ao.quantization.utils.calculate_qmin_qmax does for a custom range.
QuantRange activation_range(int bits, bool reduce_range);

/// PyTorch's averaging constant of MovingAverage(PerChannel)MinMaxObserver.
inline constexpr double kAveragingConstant = 0.01;

/// Scale and zero point from observed min/max, exactly as torch.ao's
/// UniformQuantizationObserverBase._calculate_qparams: the range is widened to include 0, the scale
/// is clamped below by float32 epsilon, and an unobserved (+inf/-inf) range gives scale 1, zero point 0.
/// `min_val`/`max_val` are float32 of shape [] or [C]; returns float32 scales and int32 zero points of
/// the same number of elements (at least 1).
void calculate_qparams(const torch::Tensor& min_val, const torch::Tensor& max_val, const QuantRange& range,
                       torch::Tensor* scale, torch::Tensor* zero_point);

/// One moving-average min/max observer plus its fake quantizer (PyTorch's FakeQuantize module).
/// The tensors are the owner module's registered buffers, updated in place (so they are saved,
/// loaded and moved with the module). Not thread-safe.
class Observer {
 public:
  Observer() = default;
  /// `channels` < 0: per tensor (min/max of shape []); otherwise per channel along axis 0.
  Observer(QuantRange range, std::int64_t channels, const torch::TensorOptions& float_options);

  bool defined() const { return min_val_.defined(); }
  bool per_channel() const { return channels_ >= 0; }
  const QuantRange& range() const { return range_; }

  /// Updates min/max from `x` (detached) with the moving average — the first observation is taken
  /// as is — and recomputes scale and zero point.
  void observe(const torch::Tensor& x);
  /// Fake-quantizes with the current scale/zero point; straight-through gradient inside the range.
  torch::Tensor fake_quant(const torch::Tensor& x) const;
  /// observe() when `update`, then fake_quant().
  torch::Tensor forward(const torch::Tensor& x, bool update) {
    if (update) observe(x);
    return fake_quant(x);
  }

  torch::Tensor& min_val() { return min_val_; }
  torch::Tensor& max_val() { return max_val_; }
  torch::Tensor& scale() { return scale_; }
  torch::Tensor& zero_point() { return zero_point_; }
  const torch::Tensor& scale() const { return scale_; }
  const torch::Tensor& zero_point() const { return zero_point_; }

 private:
  QuantRange range_;
  std::int64_t channels_ = -1;
  torch::Tensor min_val_, max_val_, scale_, zero_point_;
};

}  // namespace sparsify::ml::quant
