//===- ExecutionContext.cpp - Thread-local context slot ---------*- C++ -*-===//

#include "ExecutionContext.h"

namespace {
// Plain pointer: needs no TLS destructor, hence no C++ runtime support.
thread_local kiln_rt_context *currentContext = nullptr;
} // namespace

extern "C" kiln_rt_context **kiln_rt_context_slot(void) {
  return &currentContext;
}
