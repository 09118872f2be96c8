// Greedy-by-size offset assignment (as in TFLite's arena planner): O(n^2) in buffers, fine for
// the few thousand values of a real model.
#include "engine/runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

#include "engine/runtime/arena.h"

namespace sparsify::engine {

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<std::size_t> order(requests.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first < requests[b].first;
  });
  struct Placed {
    std::size_t offset, end;
  };
  std::vector<std::size_t> placed;
  std::vector<Placed> conflicts;
  for (std::size_t i : order) {
    const BufferRequest& r = requests[i];
    const std::size_t size = align_up(r.bytes);
    plan.unshared_bytes += size;
    conflicts.clear();
    for (std::size_t j : placed) {
      const BufferRequest& o = requests[j];
      if (o.last < r.first || r.last < o.first) continue;
      conflicts.push_back({plan.offsets[j], plan.offsets[j] + align_up(o.bytes)});
    }
    std::sort(conflicts.begin(), conflicts.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    // Best fit: the smallest gap that holds the buffer, else the end.
    std::size_t best = static_cast<std::size_t>(-1), best_gap = static_cast<std::size_t>(-1), cursor = 0;
    for (const Placed& c : conflicts) {
      if (c.offset > cursor && c.offset - cursor >= size && c.offset - cursor < best_gap) {
        best = cursor;
        best_gap = c.offset - cursor;
      }
      cursor = std::max(cursor, c.end);
    }
    if (best == static_cast<std::size_t>(-1)) best = cursor;
    plan.offsets[i] = best;
    plan.arena_bytes = std::max(plan.arena_bytes, best + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace sparsify::engine
