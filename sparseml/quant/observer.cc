// Min/max observers and fake quantization with PyTorch's (and so SparseML's) QAT numerics.
#include "sparseml/quant/observer.h"

#include <limits>

#include <torch/torch.h>

namespace sparsify::ml::quant {

QuantRange weight_range(int bits) {
  const std::int64_t half = std::int64_t{1} << (bits - 1);
  return QuantRange{-half, half - 1, /*symmetric=*/true};
}

QuantRange activation_range(int bits, bool reduce_range) {
  const std::int64_t top = (std::int64_t{1} << bits) - 1;
  // ref: torch/ao/quantization/utils.py calculate_qmin_qmax — a custom range is halved by floor division.
  return QuantRange{0, reduce_range ? top / 2 : top, /*symmetric=*/false};
}

void calculate_qparams(const torch::Tensor& min_val, const torch::Tensor& max_val, const QuantRange& range,
                       torch::Tensor* scale, torch::Tensor* zero_point) {
  torch::NoGradGuard no_grad;
  const auto int_options = min_val.options().dtype(torch::kInt);
  const bool unobserved = (min_val == std::numeric_limits<float>::infinity()).all().item<bool>() &&
                          (max_val == -std::numeric_limits<float>::infinity()).all().item<bool>();
  if (unobserved) {
    *scale = torch::ones({std::max<std::int64_t>(min_val.numel(), 1)}, min_val.options());
    *zero_point = torch::zeros({std::max<std::int64_t>(min_val.numel(), 1)}, int_options);
    return;
  }
  // ref: torch/ao/quantization/observer.py _calculate_qparams (PyTorch 1.13):
  //   min_neg = min(min_val, 0), max_pos = max(max_val, 0)
  //   symmetric: scale = max(-min_neg, max_pos) / ((qmax - qmin) / 2), zero_point = 0 (signed dtype)
  //   affine:    scale = (max_pos - min_neg) / (qmax - qmin), zero_point = clamp(qmin - round(min_neg / scale))
  //   scale = max(scale, float32 eps)
  const auto eps = torch::full({}, std::numeric_limits<float>::epsilon(), min_val.options());
  const auto min_neg = torch::min(min_val, torch::zeros_like(min_val));
  const auto max_pos = torch::max(max_val, torch::zeros_like(max_val));
  const double levels = static_cast<double>(range.quant_max - range.quant_min);
  torch::Tensor s, zp;
  if (range.symmetric) {
    s = torch::max(torch::max(-min_neg, max_pos) / (levels / 2), eps);
    const std::int64_t mid = range.quant_min < 0 ? 0 : (range.quant_min + range.quant_max) / 2;
    zp = torch::full(s.sizes(), mid, int_options);
  } else {
    s = torch::max((max_pos - min_neg) / levels, eps);
    zp = (range.quant_min - torch::round(min_neg / s).to(torch::kInt)).clamp(range.quant_min, range.quant_max);
  }
  *scale = s.reshape({-1});
  *zero_point = zp.to(torch::kInt).reshape({-1});
}

Observer::Observer(QuantRange range, std::int64_t channels, const torch::TensorOptions& float_options)
    : range_(range), channels_(channels) {
  const auto opts = float_options.dtype(torch::kFloat);
  const std::vector<std::int64_t> mm_shape = channels < 0 ? std::vector<std::int64_t>{} : std::vector<std::int64_t>{channels};
  const std::int64_t n = channels < 0 ? 1 : channels;
  min_val_ = torch::full(mm_shape, std::numeric_limits<float>::infinity(), opts);
  max_val_ = torch::full(mm_shape, -std::numeric_limits<float>::infinity(), opts);
  scale_ = torch::ones({n}, opts);
  zero_point_ = torch::zeros({n}, opts.dtype(torch::kInt));
}

void Observer::observe(const torch::Tensor& x_in) {
  if (x_in.numel() == 0) return;
  torch::NoGradGuard no_grad;
  const auto x = x_in.detach().to(torch::kFloat);
  torch::Tensor cur_min, cur_max;
  if (per_channel()) {
    std::tie(cur_min, cur_max) = torch::aminmax(x.flatten(1), /*dim=*/1);
  } else {
    std::tie(cur_min, cur_max) = torch::aminmax(x);
  }
  const bool first = (min_val_ == std::numeric_limits<float>::infinity()).all().item<bool>() &&
                     (max_val_ == -std::numeric_limits<float>::infinity()).all().item<bool>();
  if (first) {
    min_val_.copy_(cur_min);
    max_val_.copy_(cur_max);
  } else {
    // ref: torch.ao MovingAverageMinMaxObserver.forward: min = min + c * (cur_min - min).
    min_val_.copy_(min_val_ + kAveragingConstant * (cur_min - min_val_));
    max_val_.copy_(max_val_ + kAveragingConstant * (cur_max - max_val_));
  }
  torch::Tensor s, zp;
  calculate_qparams(min_val_, max_val_, range_, &s, &zp);
  scale_.copy_(s);
  zero_point_.copy_(zp);
}

torch::Tensor Observer::fake_quant(const torch::Tensor& x) const {
  if (per_channel()) {
    return torch::fake_quantize_per_channel_affine(x, scale_, zero_point_, /*axis=*/0, range_.quant_min,
                                                   range_.quant_max);
  }
  return torch::fake_quantize_per_tensor_affine(x, scale_, zero_point_, range_.quant_min, range_.quant_max);
}

}  // namespace sparsify::ml::quant
