// Tensor: an element type, concrete dims and (optionally) a shared, 64-byte aligned buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/base/check.h"
#include "engine/graph/dtype.h"
#include "engine/graph/shape.h"

namespace sparsify::engine {

/// A dense row-major tensor. Copies share the buffer (shallow); clone() copies the bytes.
/// A tensor without a buffer ("shape only") describes a value whose contents are not known yet,
/// as during compile-time shape inference. Not thread-safe for concurrent writes.
class Tensor {
 public:
  Tensor() = default;
  /// Allocates zero-filled storage for dims.
  Tensor(DType dtype, Dims dims);
  /// A descriptor without storage.
  static Tensor shape_only(DType dtype, Dims dims);
  /// A tensor over `owner`'s storage starting `byte_offset` bytes in (no copy, no allocation
  /// beyond dims). The view keeps `owner` alive; the caller keeps offsets in bounds. Used by the
  /// execution plan for arena slots.
  static Tensor view(DType dtype, Dims dims, const std::shared_ptr<std::byte>& owner, std::size_t byte_offset);
  /// A rank-0 tensor holding `v`.
  template <class T>
  static Tensor scalar(T v) {
    Tensor t(dtype_of<T>(), {});
    *t.data<T>() = v;
    return t;
  }
  /// A rank-1 tensor holding `values`.
  template <class T>
  static Tensor from_vector(const std::vector<T>& values) {
    Tensor t(dtype_of<T>(), {static_cast<std::int64_t>(values.size())});
    for (std::size_t i = 0; i < values.size(); ++i) t.data<T>()[i] = values[i];
    return t;
  }

  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  std::size_t rank() const { return dims_.size(); }
  std::int64_t dim(std::size_t i) const { return dims_[i]; }
  std::int64_t numel() const { return dims_numel(dims_); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool has_data() const { return buffer_ != nullptr; }

  template <class T>
  T* data() {
    SPARSIFY_DCHECK(dtype_of<T>() == dtype_ && has_data());
    return reinterpret_cast<T*>(buffer_.get());
  }
  template <class T>
  const T* data() const {
    SPARSIFY_DCHECK(dtype_of<T>() == dtype_ && has_data());
    return reinterpret_cast<const T*>(buffer_.get());
  }
  void* raw_data() { return buffer_.get(); }
  const void* raw_data() const { return buffer_.get(); }

  /// Same buffer, new dims with the same element count.
  Tensor reshaped(Dims dims) const;
  /// Deep copy.
  Tensor clone() const;
  /// Element i converted to double (any dtype).
  double element_as_double(std::int64_t i) const;
  /// Element i converted to int64 (any integer or bool dtype; floats truncate).
  std::int64_t element_as_int(std::int64_t i) const;
  /// "float32[2,3]"
  std::string describe() const;

 private:
  DType dtype_ = DType::kUndefined;
  Dims dims_;
  std::shared_ptr<std::byte> buffer_;
};

}  // namespace sparsify::engine
