//===- ThreadPool.cpp - Fixed-size worker pool with parallel_for ----------===//

#include "ThreadPool.h"

#include <new>
#include <stdlib.h>

namespace kiln {

namespace {
struct WorkerStart {
  ThreadPool *pool;
  int32_t index;
};

// Which pool and worker the calling thread is, so a nested loop run serially
// keeps its caller's worker index (and with it the caller's scratch).
thread_local const ThreadPool *currentPool = nullptr;
thread_local int32_t currentWorker = 0;

// Polling before a wait sleeps: about 100 microseconds on the Zen 4 this was
// tuned on (a pause takes ~33 ns there), longer than the gaps between a run's
// loops and far shorter than the gaps between runs.
constexpr int kSpinIterations = 3000;

// Returns once `waiting()` is false: polls first, then sleeps on `cond`
// under `mutex`, counted in `sleepers` so that the notifier knows to signal.
template <typename Pred>
void waitWhile(Pred waiting, pthread_mutex_t &mutex, pthread_cond_t &cond,
               int32_t &sleepers) {
  for (int i = 0; i < kSpinIterations && waiting(); ++i)
    cpuRelax();
  if (!waiting())
    return;
  pthread_mutex_lock(&mutex);
  ++sleepers;
  while (waiting())
    pthread_cond_wait(&cond, &mutex);
  --sleepers;
  pthread_mutex_unlock(&mutex);
}
} // namespace

ThreadPool *ThreadPool::create(int32_t numThreads) {
  if (numThreads < 1)
    numThreads = 1;
  void *memory = malloc(sizeof(ThreadPool));
  if (!memory)
    return nullptr;
  ThreadPool *pool = new (memory) ThreadPool();
  pthread_mutex_init(&pool->mutex, nullptr);
  pthread_cond_init(&pool->wake, nullptr);
  pthread_cond_init(&pool->finished, nullptr);
  int32_t workers = numThreads - 1;
  if (workers == 0)
    return pool;

  // One block holds the thread handles and their start arguments.
  pool->threads = static_cast<pthread_t *>(
      malloc(workers * (sizeof(pthread_t) + sizeof(WorkerStart))));
  if (!pool->threads) {
    destroy(pool);
    return nullptr;
  }
  auto *starts = reinterpret_cast<WorkerStart *>(pool->threads + workers);
  for (int32_t i = 0; i < workers; ++i) {
    starts[i] = {pool, i + 1};
    if (pthread_create(&pool->threads[i], nullptr, workerMain, &starts[i])) {
      destroy(pool);
      return nullptr;
    }
    ++pool->numWorkers;
  }
  return pool;
}

void ThreadPool::destroy(ThreadPool *pool) {
  if (!pool)
    return;
  pthread_mutex_lock(&pool->mutex);
  pool->stopping.store(true, std::memory_order_release);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);
  for (int32_t i = 0; i < pool->numWorkers; ++i)
    pthread_join(pool->threads[i], nullptr);
  free(pool->threads);
  pthread_cond_destroy(&pool->finished);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->mutex);
  pool->~ThreadPool();
  free(pool);
}

void *ThreadPool::workerMain(void *raw) {
  auto *start = static_cast<WorkerStart *>(raw);
  ThreadPool *pool = start->pool;
  currentPool = pool;
  currentWorker = start->index;
  uint64_t seen = 0;
  for (;;) {
    auto idle = [&] {
      return !pool->stopping.load(std::memory_order_acquire) &&
             pool->generation.load(std::memory_order_acquire) == seen;
    };
    waitWhile(idle, pool->mutex, pool->wake, pool->sleepingWorkers);
    if (pool->stopping.load(std::memory_order_acquire))
      break;
    seen = pool->generation.load(std::memory_order_acquire);
    pool->runChunks(start->index);
    if (pool->pendingWorkers.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&pool->mutex);
      if (pool->sleepingCallers)
        pthread_cond_signal(&pool->finished);
      pthread_mutex_unlock(&pool->mutex);
    }
  }
  return nullptr;
}

void ThreadPool::runChunks(int32_t worker) {
  for (;;) {
    int64_t b = next.fetch_add(grain, std::memory_order_relaxed);
    if (b >= end)
      return;
    int64_t e = end - b > grain ? b + grain : end;
    fn(arg, b, e, worker);
  }
}

void ThreadPool::parallelFor(int64_t begin, int64_t end, int64_t grain,
                             TaskFn fn, void *arg) {
  if (begin >= end)
    return;
  if (grain < 1)
    grain = 1;
  bool expected = false;
  if (numWorkers == 0 || end - begin <= grain ||
      !busy.compare_exchange_strong(expected, true)) {
    fn(arg, begin, end, currentPool == this ? currentWorker : 0);
    return;
  }
  this->fn = fn;
  this->arg = arg;
  this->end = end;
  this->grain = grain;
  next.store(begin, std::memory_order_relaxed);
  pendingWorkers.store(numWorkers, std::memory_order_relaxed);
  // Publishes the fields above to the workers that see the new generation.
  generation.fetch_add(1, std::memory_order_release);
  // A worker that found the old generation under the mutex is counted in
  // sleepingWorkers by now, or will see the new one before it waits.
  pthread_mutex_lock(&mutex);
  if (sleepingWorkers > 0)
    pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&mutex);

  runChunks(0);

  // Every worker must leave runChunks before the loop's fields are reused.
  auto pending = [&] {
    return pendingWorkers.load(std::memory_order_acquire) != 0;
  };
  waitWhile(pending, mutex, finished, sleepingCallers);
  busy.store(false, std::memory_order_release);
}

} // namespace kiln
