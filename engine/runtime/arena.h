// The arena: one 64-byte aligned block per compiled plan holding every intermediate value and the
// per-thread scratch, at offsets the memory planner fixed at compile time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sparsify::engine {

/// Alignment of the arena and of every offset in it (a cache line; what AVX-512 loads want).
inline constexpr std::size_t kArenaAlignment = 64;

/// Rounds `bytes` up to a multiple of kArenaAlignment.
constexpr std::size_t align_up(std::size_t bytes) { return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

/// One zero-initialised, aligned block, allocated once when the plan is built and never resized.
/// Views into it (Tensor::view) share ownership, so the block outlives its last view.
/// Not thread-safe: one arena serves one run at a time.
class Arena {
 public:
  Arena() = default;
  /// Allocates `bytes` (rounded up to kArenaAlignment; at least one line).
  explicit Arena(std::size_t bytes);

  std::size_t size() const { return size_; }
  std::byte* data() const { return block_.get(); }
  /// The owning pointer, for Tensor::view.
  const std::shared_ptr<std::byte>& block() const { return block_; }

  /// Arena blocks allocated by this process so far. Tests read it before and after run() to
  /// prove that running allocates none. Thread-safe.
  static std::uint64_t allocation_count();

 private:
  std::shared_ptr<std::byte> block_;
  std::size_t size_ = 0;
};

}  // namespace sparsify::engine
