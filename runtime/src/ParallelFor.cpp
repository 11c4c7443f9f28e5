//===- ParallelFor.cpp - Parallel loops of generated code -------*- C++ -*-===//
//
// Kept apart from kiln_rt_context_slot's definition on purpose: in the same
// file clang inlines the slot (it assumes no interposition), so an
// artifact's copy would read its own slot while a host that links the
// runtime (kiln-run, kiln-serve, a product) set the host's. Every generated
// parallel loop, and the kernels that use this entry, then ran on the
// calling thread alone.
//
//===----------------------------------------------------------------------===//

#include "ExecutionContext.h"

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
