// Types and helpers shared by every kernel family: fused activations and tiling arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

namespace sparsify::engine {

/// Element-wise activation fused into a kernel's epilogue. All of them are a clamp.
enum class Activation : std::uint8_t { kNone, kRelu, kRelu6, kClip };

/// An activation plus its bounds (only kClip reads min/max).
struct ActivationParams {
  Activation kind = Activation::kNone;
  float min = -std::numeric_limits<float>::infinity();
  float max = std::numeric_limits<float>::infinity();

  static ActivationParams none() { return {}; }
  static ActivationParams relu() { return {Activation::kRelu, 0.0f, std::numeric_limits<float>::infinity()}; }
  static ActivationParams relu6() { return {Activation::kRelu6, 0.0f, 6.0f}; }
  static ActivationParams clip(float lo, float hi) { return {Activation::kClip, lo, hi}; }

  /// The clamp bounds this activation applies.
  float lo() const { return kind == Activation::kNone ? -std::numeric_limits<float>::infinity() : min; }
  float hi() const { return kind == Activation::kNone ? std::numeric_limits<float>::infinity() : max; }
  bool is_identity() const { return kind == Activation::kNone; }
};

/// "none", "relu", "relu6", "clip".
const char* activation_name(Activation kind);

constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }
constexpr std::size_t round_up(std::size_t a, std::size_t b) { return ceil_div(a, b) * b; }

/// Bytes every kernel scratch and packed buffer is aligned to.
constexpr std::size_t kKernelAlignment = 64;

/// A fixed-size array of trivially copyable T aligned to kKernelAlignment (packed weights). Copies
/// are deep and keep the alignment (a std::vector copy would not); moves are cheap.
template <class T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(std::size_t n) { resize(n); }
  AlignedArray(const AlignedArray& o) : AlignedArray(o.size_) {
    if (size_ != 0) std::memcpy(data_, o.data_, size_ * sizeof(T));
  }
  AlignedArray(AlignedArray&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  AlignedArray& operator=(AlignedArray o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~AlignedArray() { release(); }

  /// Discards the contents; the new elements are zero.
  void resize(std::size_t n) {
    release();
    if (n == 0) return;
    data_ = static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(kKernelAlignment)));
    std::memset(static_cast<void*>(data_), 0, n * sizeof(T));
    size_ = n;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete[](data_, std::align_val_t(kKernelAlignment));
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// One thread's share of a grid of independent tiles (see split_grid): blocks [n0, n1) of the
/// packed ("N") side times blocks [m0, m1) of the other side.
struct GridRect {
  std::size_t n0, n1, m0, m1;
};

/// Static, balanced split of an n_blocks x m_blocks tile grid into `parts`: the grid is flattened
/// N-major (all M blocks of one N block together) and part p gets the units
/// [p*total/parts, (p+1)*total/parts): a partial N block, whole N blocks, a partial N block. Writes
/// up to 3 rectangles to `out` and returns how many. Each part packs only the N blocks it touches
/// (at most two of them are shared with a neighbour). Pure.
int split_grid(std::size_t n_blocks, std::size_t m_blocks, int part, int parts, GridRect out[3]);

}  // namespace sparsify::engine
