// MaskedParameters: mask bookkeeping for pruning modifiers; LibTorch errors become Status here.
#include "sparseml/pruning/masked_parameters.h"

#include <c10/util/Exception.h>

#include "sparseml/pruning/mask.h"

namespace sparsify::ml::pruning {
namespace {

// Runs fn, converting LibTorch exceptions into Status (the one place this class does so).
template <class Fn>
Status guarded(const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    return internal_error("MaskedParameters::", what, ": LibTorch error: ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    return internal_error("MaskedParameters::", what, ": ", e.what());
  }
}

std::string shape_string(const torch::Tensor& t) {
  std::string s = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace

Status MaskedParameters::add(const std::string& name, const torch::Tensor& param) {
  return guarded("add", [&]() -> Status {
    if (!param.defined()) return invalid_argument("parameter '", name, "' is undefined");
    if (!param.is_floating_point())
      return invalid_argument("parameter '", name, "' has dtype ", c10::toString(param.scalar_type()),
                              ", expected a floating-point tensor");
    if (find(name) >= 0) return invalid_argument("parameter '", name, "' was already added");
    entries_.push_back({name, param, torch::ones_like(param.detach())});
    return Status::ok_status();
  });
}

int MaskedParameters::find(const std::string& name) const {
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].name == name) return static_cast<int>(i);
  return -1;
}

Status MaskedParameters::set_mask(std::size_t i, const torch::Tensor& mask) {
  return guarded("set_mask", [&]() -> Status {
    if (i >= entries_.size()) return invalid_argument("mask index ", i, " is out of range for ", entries_.size(), " parameters");
    ParamMask& e = entries_[i];
    if (!mask.defined() || !mask.sizes().equals(e.param.sizes()))
      return invalid_argument("parameter '", e.name, "': mask shape ", mask.defined() ? shape_string(mask) : "undefined",
                              " differs from the parameter's ", shape_string(e.param));
    torch::Tensor m = mask.detach().to(e.param.device(), e.param.scalar_type());
    if (!((m == 0) | (m == 1)).all().item<bool>())
      return invalid_argument("parameter '", e.name, "': mask has values other than 0 and 1");
    e.mask = m.clone();
    return Status::ok_status();
  });
}

Status MaskedParameters::update_mask(std::size_t i, double sparsity, const recipe::MaskType& type) {
  return guarded("update_mask", [&]() -> Status {
    if (i >= entries_.size()) return invalid_argument("mask index ", i, " is out of range for ", entries_.size(), " parameters");
    ParamMask& e = entries_[i];
    SPARSIFY_RETURN_IF_ERROR(check_mask_args(shape_of(e.param), sparsity, type).with_prefix("parameter '" + e.name + "'"));
    e.mask = magnitude_mask(e.param, sparsity, type);
    return Status::ok_status();
  });
}

Status MaskedParameters::update_masks(double sparsity, const recipe::MaskType& type, bool global) {
  return guarded("update_masks", [&]() -> Status {
    for (const ParamMask& e : entries_)
      SPARSIFY_RETURN_IF_ERROR(check_mask_args(shape_of(e.param), sparsity, type).with_prefix("parameter '" + e.name + "'"));
    if (global) {
      std::vector<torch::Tensor> params;
      for (const ParamMask& e : entries_) params.push_back(e.param);
      std::vector<torch::Tensor> masks = global_magnitude_masks(params, sparsity, type);
      for (std::size_t i = 0; i < entries_.size(); ++i) entries_[i].mask = std::move(masks[i]);
    } else {
      for (ParamMask& e : entries_) e.mask = magnitude_mask(e.param, sparsity, type);
    }
    return Status::ok_status();
  });
}

Status MaskedParameters::masks_from_zeros() {
  return guarded("masks_from_zeros", [&]() -> Status {
    for (ParamMask& e : entries_) e.mask = (e.param.detach() != 0).to(e.param.scalar_type());
    return Status::ok_status();
  });
}

Status MaskedParameters::apply() {
  return guarded("apply", [&]() -> Status {
    torch::NoGradGuard no_grad;
    for (ParamMask& e : entries_) e.param.mul_(e.mask);
    return Status::ok_status();
  });
}

Status MaskedParameters::mask_gradients() {
  return guarded("mask_gradients", [&]() -> Status {
    torch::NoGradGuard no_grad;
    for (ParamMask& e : entries_) {
      torch::Tensor g = e.param.grad();
      if (g.defined()) g.mul_(e.mask);
    }
    return Status::ok_status();
  });
}

double MaskedParameters::weight_sparsity() const {
  std::int64_t zeros = 0, total = 0;
  for (const ParamMask& e : entries_) zeros += count_zeros(e.param), total += e.param.numel();
  return total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

double MaskedParameters::mask_sparsity() const {
  std::int64_t zeros = 0, total = 0;
  for (const ParamMask& e : entries_) zeros += count_zeros(e.mask), total += e.mask.numel();
  return total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

std::vector<double> MaskedParameters::weight_sparsities() const {
  std::vector<double> out;
  for (const ParamMask& e : entries_) out.push_back(sparsity(e.param));
  return out;
}

}  // namespace sparsify::ml::pruning
