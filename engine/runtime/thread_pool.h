// A small fixed pool of worker threads for the kernels: static partitioning, no allocation per call.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace sparsify::engine {

/// N workers including the calling thread (N - 1 std::threads are started in the constructor;
/// at most kMaxThreads). parallel_for splits [0, n_tasks) into N fixed contiguous ranges; the
/// caller runs range 0 and every worker claims its own range. A range its worker has not claimed
/// by the time the caller is done with its own (a preempted or sleeping worker on a busy machine)
/// is run by the caller instead, so a late worker never stalls the job. Idle workers spin
/// briefly, then sleep on a futex. One parallel_for at a time: the pool is not re-entrant and must
/// be driven by one thread (the owner of the plan).
class ThreadPool {
 public:
  /// `threads` <= 1 means no workers: parallel_for runs inline on the caller.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Total threads including the caller (>= 1).
  int threads() const { return threads_; }

  static constexpr int kMaxThreads = 64;

  /// Calls fn(task_index, thread_index) for every task_index in [0, n_tasks): range r (of
  /// T = min(threads(), n_tasks)) is the tasks [r * n_tasks / T, (r + 1) * n_tasks / T), run in
  /// order by one thread; thread_index names the thread running it (normally r; 0 when the caller
  /// took the range over), so per-thread scratch indexed by it is never shared. Returns when all
  /// tasks are done. `fn` must not throw and must not call parallel_for.
  template <class F>
  void parallel_for(std::int64_t n_tasks, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run(n_tasks, [](void* ctx, std::int64_t task, int thread) { (*static_cast<Fn*>(ctx))(task, thread); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using TaskFn = void (*)(void* ctx, std::int64_t task, int thread);
  void run(std::int64_t n_tasks, TaskFn fn, void* ctx);
  void worker_loop(int thread);
  void run_range(int range, int thread);
  void finish_range();

  int threads_ = 1;
  std::vector<std::thread> workers_;
  // Published job: written by the caller before `generation_` is bumped (release).
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::int64_t n_tasks_ = 0;
  int active_ = 1;                              // ranges of the current job
  alignas(64) std::atomic<std::uint64_t> unclaimed_{0};    // bit r: range r (>= 1) not yet claimed
  alignas(64) std::atomic<std::uint32_t> generation_{0};  // futex word workers wait on
  alignas(64) std::atomic<int> pending_{0};                // ranges >= 1 not yet finished
  alignas(64) std::atomic<std::uint32_t> done_word_{0};    // futex word the caller waits on
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stop_{false};
};

}  // namespace sparsify::engine
