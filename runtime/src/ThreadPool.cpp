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
  pool->stopping = true;
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
  pthread_mutex_lock(&pool->mutex);
  for (;;) {
    while (!pool->stopping && pool->generation == seen)
      pthread_cond_wait(&pool->wake, &pool->mutex);
    if (pool->stopping)
      break;
    seen = pool->generation;
    pthread_mutex_unlock(&pool->mutex);
    pool->runChunks(start->index);
    pthread_mutex_lock(&pool->mutex);
    if (--pool->pendingWorkers == 0)
      pthread_cond_signal(&pool->finished);
  }
  pthread_mutex_unlock(&pool->mutex);
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
  pthread_mutex_lock(&mutex);
  this->fn = fn;
  this->arg = arg;
  this->end = end;
  this->grain = grain;
  next.store(begin, std::memory_order_relaxed);
  pendingWorkers = numWorkers;
  ++generation;
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&mutex);

  runChunks(0);

  // Every worker must leave runChunks before the loop's fields are reused.
  pthread_mutex_lock(&mutex);
  while (pendingWorkers != 0)
    pthread_cond_wait(&finished, &mutex);
  pthread_mutex_unlock(&mutex);
  busy.store(false, std::memory_order_release);
}

} // namespace kiln
