//===- ExecutionContext.h - Per-run context seen by kernels -----*- C++ -*-===//
//
// While a session runs a model, the calling thread's context slot points at
// the session's execution context; kernels read it to find the thread pool
// and their scratch memory. With no context set, kernels run single-threaded
// and allocate their own scratch.
//
// The context is a C struct of function pointers, and the slot is reached
// through one exported function, because an artifact and the program that
// loads it may each carry a copy of this runtime: the dynamic linker binds
// every copy's `kiln_rt_context_slot` to the first definition, so the session
// of one copy and the kernels of another still meet on one slot and call
// into the copy that owns the pool.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_EXECUTIONCONTEXT_H
#define KILN_RUNTIME_EXECUTIONCONTEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_RT_CONTEXT_VERSION 4u

// Runs items [begin, end) of a parallel loop on worker `worker`.
typedef void (*kiln_rt_task_fn)(void *arg, int64_t begin, int64_t end,
                                int32_t worker);

typedef struct kiln_rt_context {
  uint32_t version; // KILN_RT_CONTEXT_VERSION
  int32_t num_threads;
  // Splits [begin, end) into chunks of at least `grain` items and runs them
  // on the pool; returns when all are done. Nested calls run serially.
  void (*parallel_for)(struct kiln_rt_context *ctx, int64_t begin, int64_t end,
                       int64_t grain, kiln_rt_task_fn fn, void *arg);
  // 64-byte aligned scratch of at least `bytes` for `worker`, owned by the
  // context and reused across calls; NULL when out of memory.
  void *(*scratch)(struct kiln_rt_context *ctx, int32_t worker, size_t bytes);
  // Records a kernel failure; the run then fails with this message.
  void (*report_error)(struct kiln_rt_context *ctx, const char *message);
  void *impl;

  // The run's memory bound. Buffers that generated code allocates on the
  // invoking thread (runtime/src/BufferCache.cpp) count against
  // `arena_limit` while they live, on top of the outputs.
  uint64_t arena_limit;
  uint64_t arena_used;
  void *arena_live;       // the allocator's list of the run's live buffers
  int32_t parallel_depth; // > 0 inside parallel_for, where no unwind is safe
  // An allocation of `bytes` would pass arena_limit (or malloc failed):
  // records the error and unwinds the run; returns only when it cannot.
  void (*refuse_allocation)(struct kiln_rt_context *ctx, size_t bytes,
                            int malloc_failed);
  // The caller's arena (kiln_session_options.arena), or NULL: the run's
  // buffers are then carved from it, `user_arena_top` bytes in so far.
  char *user_arena;
  uint64_t user_arena_bytes;
  uint64_t user_arena_top;
  // The run's inputs hold a value the model cannot take (an index past its
  // axis): records the message and unwinds the run, which then fails with
  // KILN_ERROR_INVALID_ARGUMENT; inside parallel_for, where no unwind is
  // safe, it records the message as report_error does and returns.
  void (*reject_input)(struct kiln_rt_context *ctx, const char *message);
} kiln_rt_context;

// Frees the buffers of the current run that are still live (after an
// unwind) and forgets the run's accounting.
void kiln_rt_end_run_buffers(kiln_rt_context *ctx, int release);

// Address of the calling thread's context slot.
__attribute__((visibility("default"))) kiln_rt_context **
kiln_rt_context_slot(void);

// Convenience accessor for kernels: the current context, or NULL when none is
// set or it comes from an incompatible runtime.
static inline kiln_rt_context *kiln_rt_current_context(void) {
  kiln_rt_context *ctx = *kiln_rt_context_slot();
  return ctx && ctx->version == KILN_RT_CONTEXT_VERSION ? ctx : 0;
}

// Exposed so generated code can parallelize its own loops: runs `fn` over
// [begin, end) on the current context's pool, or inline without one.
__attribute__((visibility("default"))) void
kiln_rt_parallel_for(int64_t begin, int64_t end, int64_t grain,
                     kiln_rt_task_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif // KILN_RUNTIME_EXECUTIONCONTEXT_H
