// Arena allocation and its process-wide counter.
#include "engine/runtime/arena.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "engine/base/check.h"

namespace sparsify::engine {
namespace {

std::atomic<std::uint64_t> g_allocations{0};

}  // namespace

Arena::Arena(std::size_t bytes) : size_(align_up(bytes == 0 ? 1 : bytes)) {
  void* p = std::aligned_alloc(kArenaAlignment, size_);
  SPARSIFY_CHECK(p != nullptr);
  std::memset(p, 0, size_);
  block_ = std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Arena::allocation_count() { return g_allocations.load(std::memory_order_relaxed); }

}  // namespace sparsify::engine
