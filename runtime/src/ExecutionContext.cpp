//===- ExecutionContext.cpp - Thread-local context slot ---------*- C++ -*-===//

#include "ExecutionContext.h"

namespace {
// Plain pointer: needs no TLS destructor, hence no C++ runtime support.
thread_local kiln_rt_context *currentContext = nullptr;
} // namespace

extern "C" kiln_rt_context **kiln_rt_context_slot(void) {
  return &currentContext;
}

extern "C" void kiln_rt_parallel_for(int64_t begin, int64_t end, int64_t grain,
                                     kiln_rt_task_fn fn, void *arg) {
  if (begin >= end)
    return;
  if (kiln_rt_context *ctx = kiln_rt_current_context()) {
    ctx->parallel_for(ctx, begin, end, grain, fn, arg);
    return;
  }
  fn(arg, begin, end, 0);
}
