// Memory planner: no two buffers with intersecting lifetimes overlap, offsets are aligned, and a
// chain of values reuses memory.
#include <catch2/catch.hpp>

#include <random>

#include "engine/runtime/arena.h"
#include "engine/runtime/memory_planner.h"

namespace sparsify::engine {
namespace {

void check_valid(const std::vector<BufferRequest>& r, const MemoryPlan& p) {
  REQUIRE(p.offsets.size() == r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    CHECK(p.offsets[i] % kArenaAlignment == 0);
    CHECK(p.offsets[i] + r[i].bytes <= p.arena_bytes);
    for (std::size_t j = i + 1; j < r.size(); ++j) {
      const bool live_together = !(r[i].last < r[j].first || r[j].last < r[i].first);
      const bool overlap = p.offsets[i] < p.offsets[j] + r[j].bytes && p.offsets[j] < p.offsets[i] + r[i].bytes;
      if (live_together && r[i].bytes > 0 && r[j].bytes > 0) CHECK_FALSE(overlap);
    }
  }
}

TEST_CASE("a chain reuses two slots") {
  std::vector<BufferRequest> r;
  for (int t = 0; t < 10; ++t) r.push_back({1000, t, t + 1});
  const MemoryPlan p = plan_memory(r);
  check_valid(r, p);
  CHECK(p.arena_bytes == 2 * align_up(1000));
  CHECK(p.unshared_bytes == 10 * align_up(1000));
}

TEST_CASE("random lifetimes never overlap") {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> r;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const auto first = static_cast<std::int32_t>(rng() % 30);
      r.push_back({rng() % 5000, first, first + static_cast<std::int32_t>(rng() % 10)});
    }
    const MemoryPlan p = plan_memory(r);
    check_valid(r, p);
    CHECK(p.arena_bytes <= p.unshared_bytes);
  }
}

TEST_CASE("empty input gives an empty plan") {
  const MemoryPlan p = plan_memory({});
  CHECK(p.arena_bytes == 0);
  CHECK(p.offsets.empty());
}

}  // namespace
}  // namespace sparsify::engine
