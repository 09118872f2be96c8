// Tests for ThreadPool: every task runs exactly once, static ranges, inline single thread, reuse,
// a caller taking over a late worker's range.
#include "engine/runtime/thread_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <vector>

namespace sparsify::engine {
namespace {

TEST_CASE("thread pool: every task runs once, each static range on one thread") {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    CHECK(pool.threads() == threads);
    for (std::int64_t n : {0, 1, 2, 5, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      std::vector<int> owner(static_cast<std::size_t>(n), -1);
      pool.parallel_for(n, [&](std::int64_t task, int thread) {
        hits[static_cast<std::size_t>(task)].fetch_add(1);
        owner[static_cast<std::size_t>(task)] = thread;
      });
      for (std::int64_t i = 0; i < n; ++i) CHECK(hits[static_cast<std::size_t>(i)].load() == 1);
      // Range r is run in order by one thread: its worker r, or the caller (0) taking it over.
      const std::int64_t active = std::min<std::int64_t>(threads, n);
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t r = i * active / n;  // candidate; find the range that holds i
        std::int64_t range = r;
        while (!(n * range / active <= i && i < n * (range + 1) / active)) ++range;
        const int t = owner[static_cast<std::size_t>(i)];
        CHECK((t == range || t == 0));
        const std::int64_t first = n * range / active;
        CHECK(owner[static_cast<std::size_t>(first)] == t);
      }
    }
  }
}

TEST_CASE("thread pool: one thread runs inline on the caller") {
  ThreadPool pool(1);
  int sum = 0;  // no atomics needed: inline
  pool.parallel_for(10, [&](std::int64_t task, int thread) {
    CHECK(thread == 0);
    sum += static_cast<int>(task);
  });
  CHECK(sum == 45);
}

TEST_CASE("thread pool: many back-to-back jobs, including after workers went to sleep") {
  ThreadPool pool(2);
  std::atomic<std::int64_t> total{0};
  for (int rep = 0; rep < 2000; ++rep) {
    pool.parallel_for(2, [&](std::int64_t task, int) { total.fetch_add(task + 1); });
  }
  CHECK(total.load() == 3 * 2000);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the worker reach the futex
  pool.parallel_for(2, [&](std::int64_t task, int) { total.fetch_add(task + 1); });
  CHECK(total.load() == 3 * 2001);
}

TEST_CASE("thread pool: a blocked worker's range is taken over by the caller") {
  ThreadPool pool(2);
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  // A worker that claimed range 1 waits for range 0 to finish; if the caller took range 1 over,
  // nothing waits. Either way each range runs exactly once.
  pool.parallel_for(2, [&](std::int64_t task, int thread) {
    if (thread != 0) {
      while (!release.load()) std::this_thread::yield();
    }
    ran.fetch_add(static_cast<int>(task) + 1);
    release.store(true);
  });
  CHECK(ran.load() == 3);
}

}  // namespace
}  // namespace sparsify::engine
