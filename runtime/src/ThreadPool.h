//===- ThreadPool.h - Fixed-size worker pool with parallel_for --*- C++ -*-===//
//
// Built on pthreads rather than std::thread so that an artifact linking this
// runtime needs no libstdc++ (std::thread and std::condition_variable live in
// libstdc++.so); that is also why the pool is made with create()/destroy()
// instead of new/delete. It never throws.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_THREADPOOL_H
#define KILN_RUNTIME_THREADPOOL_H

#include <pthread.h>
#include <stdint.h>

#include <atomic>

namespace kiln {

// One step of a spin-wait: tells the core (and its sibling thread) that
// this one is polling.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

class ThreadPool {
public:
  using TaskFn = void (*)(void *arg, int64_t begin, int64_t end,
                          int32_t worker);

  // Pool running on `numThreads` threads, the caller of parallelFor being one
  // of them. NULL if memory or threads ran out.
  static ThreadPool *create(int32_t numThreads);
  // Joins the workers and frees the pool; NULL is a no-op.
  static void destroy(ThreadPool *pool);

  int32_t numThreads() const { return numWorkers + 1; }

  // Runs fn over [begin, end) in chunks of `grain` items (at least 1) and
  // returns when every chunk is done. `worker` is in [0, numThreads()), and
  // 0 is the calling thread. One loop at a time: a call made while a loop is
  // running (from a task, or from another thread) runs serially on its
  // caller instead of waiting, as the worker that caller is (0 for a thread
  // outside the pool).
  void parallelFor(int64_t begin, int64_t end, int64_t grain, TaskFn fn,
                   void *arg);

  template <typename F>
  void parallelFor(int64_t begin, int64_t end, int64_t grain, F &body) {
    parallelFor(
        begin, end, grain,
        [](void *arg, int64_t b, int64_t e, int32_t w) {
          (*static_cast<F *>(arg))(b, e, w);
        },
        &body);
  }

private:
  ThreadPool() = default;
  static void *workerMain(void *arg);
  void runChunks(int32_t worker);

  // Waits are spin-then-sleep: generated code calls parallelFor back to
  // back (a decode step makes hundreds of calls of tens of microseconds), and
  // a futex wake-up costs about as much as such a call on a virtual machine.
  // `mutex` and the condition variables serve only the sleepers.
  pthread_mutex_t mutex;
  pthread_cond_t wake;     // sleeping workers wait here for a new generation
  pthread_cond_t finished; // a sleeping caller waits here for the stragglers
  pthread_t *threads = nullptr;
  int32_t numWorkers = 0;
  int32_t sleepingWorkers = 0; // under mutex
  int32_t sleepingCallers = 0; // under mutex; 0 or 1 (one loop at a time)
  std::atomic<uint64_t> generation{0};
  std::atomic<int32_t> pendingWorkers{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> busy{false};

  // The loop being run; written by the caller before it bumps `generation`.
  TaskFn fn = nullptr;
  void *arg = nullptr;
  int64_t end = 0;
  int64_t grain = 1;
  std::atomic<int64_t> next{0};
};

} // namespace kiln

#endif // KILN_RUNTIME_THREADPOOL_H
