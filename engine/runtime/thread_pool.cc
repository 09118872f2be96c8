// ThreadPool: workers spin briefly on a generation counter, then sleep on a futex (Linux) or yield;
// ranges are claimed through a bit mask so the caller can take over a late worker's range.
#include "engine/runtime/thread_pool.h"

#include <algorithm>
#include <climits>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace sparsify::engine {
namespace {

constexpr int kSpinIterations = 4000;  // ~50-100 us of pause before sleeping

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Sleeps while *word == expected (spurious wake-ups allowed; callers re-check).
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
#else
  if (word->load() == expected) std::this_thread::yield();
#endif
}

void futex_wake_all(std::atomic<std::uint32_t>* word) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
#else
  (void)word;
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::min(kMaxThreads, std::max(1, threads))) {
  workers_.reserve(static_cast<std::size_t>(threads_ - 1));
  for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  futex_wake_all(&generation_);
  for (std::thread& w : workers_) w.join();
}

void ThreadPool::run_range(int range, int thread) {
  const std::int64_t n = n_tasks_, r = range, a = active_;
  const std::int64_t begin = n * r / a, end = n * (r + 1) / a;
  for (std::int64_t i = begin; i < end; ++i) fn_(ctx_, i, thread);
}

void ThreadPool::finish_range() {
  if (pending_.fetch_sub(1) == 1) {
    done_word_.fetch_add(1);
    if (caller_sleeping_.load()) futex_wake_all(&done_word_);
  }
}

void ThreadPool::run(std::int64_t n_tasks, TaskFn fn, void* ctx) {
  if (n_tasks <= 0) return;
  if (threads_ == 1 || n_tasks == 1) {
    for (std::int64_t i = 0; i < n_tasks; ++i) fn(ctx, i, 0);
    return;
  }
  // No worker can touch these fields now: every range of the previous job was claimed and
  // finished, and unclaimed_ is 0 until the store below publishes them.
  fn_ = fn;
  ctx_ = ctx;
  n_tasks_ = n_tasks;
  active_ = static_cast<int>(std::min<std::int64_t>(threads_, n_tasks));
  pending_.store(active_ - 1);
  const std::uint64_t ranges = (active_ == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << active_) - 1)) & ~std::uint64_t{1};
  const std::uint32_t done = done_word_.load();
  unclaimed_.store(ranges);
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) futex_wake_all(&generation_);
  run_range(0, 0);
  // Take over the ranges no worker has claimed yet (thread index 0: the caller's scratch is free).
  for (std::uint64_t left = unclaimed_.load(); left != 0; left = unclaimed_.load()) {
    const int r = __builtin_ctzll(left);
    const std::uint64_t bit = std::uint64_t{1} << r;
    if (unclaimed_.fetch_and(~bit) & bit) {
      run_range(r, 0);
      finish_range();
    }
  }
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    if (i < kSpinIterations) {
      cpu_relax();
    } else {
      caller_sleeping_.store(true);
      if (pending_.load() != 0) futex_wait(&done_word_, done);
      caller_sleeping_.store(false);
    }
  }
}

void ThreadPool::worker_loop(int thread) {
  const std::uint64_t bit = std::uint64_t{1} << thread;
  std::uint32_t seen = 0;
  for (;;) {
    std::uint32_t g = generation_.load(std::memory_order_acquire);
    for (int i = 0; g == seen && i < kSpinIterations; ++i) {
      cpu_relax();
      g = generation_.load(std::memory_order_acquire);
    }
    while (g == seen) {
      sleepers_.fetch_add(1);
      if (generation_.load() == seen) futex_wait(&generation_, seen);
      sleepers_.fetch_sub(1);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    // Claim this thread's range of whichever job is live; a stale wake-up finds the bit clear.
    if (unclaimed_.fetch_and(~bit) & bit) {
      run_range(thread, thread);
      finish_range();
    }
  }
}

}  // namespace sparsify::engine
