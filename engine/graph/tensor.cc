// Tensor storage and element access helpers.
#include "engine/graph/tensor.h"

#include <cstdlib>
#include <cstring>

namespace sparsify::engine {
namespace {

constexpr std::size_t kTensorAlignment = 64;

std::shared_ptr<std::byte> allocate(std::size_t nbytes) {
  const std::size_t rounded = (nbytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, rounded == 0 ? kTensorAlignment : rounded);
  SPARSIFY_CHECK(p != nullptr);
  std::memset(p, 0, rounded == 0 ? kTensorAlignment : rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

}  // namespace

Tensor::Tensor(DType dtype, Dims dims) : dtype_(dtype), dims_(std::move(dims)) {
  buffer_ = allocate(nbytes());
}

Tensor Tensor::shape_only(DType dtype, Dims dims) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  return t;
}

Tensor Tensor::view(DType dtype, Dims dims, const std::shared_ptr<std::byte>& owner, std::size_t byte_offset) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.buffer_ = std::shared_ptr<std::byte>(owner, owner.get() + byte_offset);
  return t;
}

Tensor Tensor::reshaped(Dims dims) const {
  SPARSIFY_CHECK(dims_numel(dims) == numel());
  Tensor t = *this;
  t.dims_ = std::move(dims);
  return t;
}

Tensor Tensor::clone() const {
  if (!has_data()) return *this;
  Tensor t(dtype_, dims_);
  std::memcpy(t.raw_data(), raw_data(), nbytes());
  return t;
}

double Tensor::element_as_double(std::int64_t i) const {
  double v = 0;
  Status s = dispatch<kTypesAll>(dtype_, [&](auto tag) {
    using T = decltype(tag);
    v = to_double(data<T>()[i]);
    return Status();
  });
  SPARSIFY_CHECK(s.ok());
  return v;
}

std::int64_t Tensor::element_as_int(std::int64_t i) const {
  std::int64_t v = 0;
  Status s = dispatch<kTypesAll>(dtype_, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) v = static_cast<std::int64_t>(data<T>()[i]);
    else v = static_cast<std::int64_t>(to_double(data<T>()[i]));
    return Status();
  });
  SPARSIFY_CHECK(s.ok());
  return v;
}

std::string Tensor::describe() const { return std::string(dtype_name(dtype_)) + dims_to_string(dims_); }

}  // namespace sparsify::engine
