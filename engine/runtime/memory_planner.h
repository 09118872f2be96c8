// The memory planner: buffer lifetimes in, arena offsets out (greedy by size, best-fit gaps).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparsify::engine {

/// A buffer to place: its size and the inclusive range of plan times during which it is live.
struct BufferRequest {
  std::size_t bytes = 0;
  std::int32_t first = 0;  // time it is written first
  std::int32_t last = 0;   // time it is read last
};

/// Offsets (multiples of kArenaAlignment) per request and the arena size they need.
struct MemoryPlan {
  std::vector<std::size_t> offsets;
  std::size_t arena_bytes = 0;
  std::size_t unshared_bytes = 0;  // sum of aligned sizes: the arena without reuse, for the dump
};

/// Places the largest buffer first, each at the lowest aligned offset where it overlaps no placed
/// buffer whose lifetime intersects its own. Deterministic; pure.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests);

}  // namespace sparsify::engine
