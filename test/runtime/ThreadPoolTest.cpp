//===- ThreadPoolTest.cpp - parallelFor coverage, workers and nesting -----===//

#include "ThreadPool.h"
#include "ExecutionContext.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace {

using kiln::ThreadPool;

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int32_t threads : {1, 2, 5}) {
    ThreadPool *pool = ThreadPool::create(threads);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->numThreads(), threads);
    for (int64_t grain : {1, 3, 64, 1000}) {
      std::vector<std::atomic<int>> hits(777);
      std::atomic<bool> badWorker{false};
      auto body = [&](int64_t b, int64_t e, int32_t w) {
        if (w < 0 || w >= threads || (threads > 1 && e - b > grain))
          badWorker = true;
        for (int64_t i = b; i < e; ++i)
          hits[i - 10]++;
      };
      pool->parallelFor(10, 787, grain, body);
      for (auto &h : hits)
        ASSERT_EQ(h.load(), 1);
      EXPECT_FALSE(badWorker);
    }
    ThreadPool::destroy(pool);
  }
}

TEST(ThreadPool, RunsManyLoopsBackToBack) {
  ThreadPool *pool = ThreadPool::create(3);
  std::atomic<int64_t> sum{0};
  for (int iter = 0; iter < 2000; ++iter) {
    auto body = [&](int64_t b, int64_t e, int32_t) { sum += e - b; };
    pool->parallelFor(0, 16, 1, body);
  }
  EXPECT_EQ(sum.load(), 2000 * 16);
  ThreadPool::destroy(pool);
}

TEST(ThreadPool, NestedLoopsRunSerially) {
  ThreadPool *pool = ThreadPool::create(4);
  std::atomic<int64_t> inner{0};
  auto outer = [&](int64_t b, int64_t e, int32_t outerWorker) {
    for (int64_t i = b; i < e; ++i) {
      auto body = [&](int64_t ib, int64_t ie, int32_t w) {
        EXPECT_EQ(w, outerWorker); // the nested loop keeps its worker
        inner += ie - ib;
      };
      pool->parallelFor(0, 10, 1, body);
    }
  };
  pool->parallelFor(0, 8, 1, outer);
  EXPECT_EQ(inner.load(), 80);
  ThreadPool::destroy(pool);
}

TEST(ThreadPool, EmptyRangeDoesNothing) {
  ThreadPool *pool = ThreadPool::create(2);
  bool called = false;
  auto body = [&](int64_t, int64_t, int32_t) { called = true; };
  pool->parallelFor(5, 5, 1, body);
  pool->parallelFor(5, 2, 1, body);
  EXPECT_FALSE(called);
  ThreadPool::destroy(pool);
  ThreadPool::destroy(nullptr);
}

TEST(ExecutionContext, ParallelForWithoutContextRunsInline) {
  ASSERT_EQ(kiln_rt_current_context(), nullptr);
  int64_t seen = 0;
  kiln_rt_parallel_for(
      0, 100, 7,
      [](void *arg, int64_t b, int64_t e, int32_t w) {
        EXPECT_EQ(w, 0);
        *static_cast<int64_t *>(arg) += e - b;
      },
      &seen);
  EXPECT_EQ(seen, 100);
}

} // namespace
