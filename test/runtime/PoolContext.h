//===- PoolContext.h - An execution context over a real pool, for tests ---===//
//
// What a session provides to kernels: a thread pool, per-worker scratch and
// an error sink. The constructor installs it in the calling thread's context
// slot and the destructor removes it; the last reported error stays in
// `error`.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_RUNTIME_POOLCONTEXT_H
#define KILN_TEST_RUNTIME_POOLCONTEXT_H

#include "ExecutionContext.h"
#include "ThreadPool.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::test {

struct PoolContext {
  ThreadPool *pool;
  std::vector<std::vector<char>> scratch;
  std::string error;
  kiln_rt_context ctx{}; // fields this context does not use stay zero

  explicit PoolContext(int32_t threads)
      : pool(ThreadPool::create(threads)), scratch(threads) {
    ctx.version = KILN_RT_CONTEXT_VERSION;
    ctx.num_threads = threads;
    ctx.parallel_for = [](kiln_rt_context *c, int64_t b, int64_t e, int64_t g,
                          kiln_rt_task_fn fn, void *arg) {
      static_cast<PoolContext *>(c->impl)->pool->parallelFor(b, e, g, fn, arg);
    };
    ctx.scratch = [](kiln_rt_context *c, int32_t w, size_t bytes) -> void * {
      auto &buf = static_cast<PoolContext *>(c->impl)->scratch[w];
      buf.resize(bytes + 64);
      uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
      return reinterpret_cast<void *>((p + 63) & ~uintptr_t(63));
    };
    ctx.report_error = [](kiln_rt_context *c, const char *message) {
      static_cast<PoolContext *>(c->impl)->error = message;
    };
    ctx.impl = this;
    *kiln_rt_context_slot() = &ctx;
  }
  ~PoolContext() {
    *kiln_rt_context_slot() = nullptr;
    ThreadPool::destroy(pool);
  }
  PoolContext(const PoolContext &) = delete;
  PoolContext &operator=(const PoolContext &) = delete;
};

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_POOLCONTEXT_H
