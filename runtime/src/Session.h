//===- Session.h - The session behind the C API handle ----------*- C++ -*-===//
//
// Every buffer a run needs for bookkeeping is sized from the descriptor and
// allocated at create time, so a run allocates nothing except the outputs of
// kiln_session_run_alloc.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_SESSION_H
#define KILN_RUNTIME_SESSION_H

#include "ExecutionContext.h"
#include "ThreadPool.h"
#include "kiln/runtime.h"

#include <atomic>
#include <setjmp.h>
#include <stdarg.h>

namespace kiln {

struct ScratchBuffer {
  void *data;
  size_t size;
};

// The codes a run unwinds with (kiln_session::unwind).
enum UnwindCode : int {
  kUnwindArenaLimit = 1,
  kUnwindOutOfMemory = 2,
  kUnwindRejectedInput = 3,
};

} // namespace kiln

struct kiln_session {
  const kiln_abi_model *model;
  kiln_session_options options;
  kiln::ThreadPool *pool;
  kiln_rt_context context;
  kiln::ScratchBuffer *scratch; // one per thread
  void *deviceState;            // model->device's state; NULL on the CPU

  std::atomic<bool> running;
  std::atomic<bool> kernelFailed;
  char kernelError[512];
  char lastError[1024];
  // Where a refused allocation or a rejected input unwinds to while the
  // model runs (Run.cpp), with one of the codes below.
  jmp_buf unwind;

  // Per-run state, sized from the descriptor.
  int64_t *symbols;       // num_symbols
  int32_t *symbolSource;  // num_symbols x {input, dim} that bound it
  int64_t *outputDims;    // all output dims, concatenated
  int32_t *outputDimBase; // num_outputs: offset into outputDims
  size_t *outputBytes;    // num_outputs
  void **inputData;       // num_inputs
  size_t *inputBytes;     // num_inputs
  void **outputData;      // num_outputs

  // kiln_session_run_alloc's outputs.
  kiln_tensor *allocTensors; // num_outputs
  kiln::ScratchBuffer *allocBuffers;
};

namespace kiln {

// Formats the session's last error and returns `status`.
kiln_status setError(kiln_session *session, kiln_status status,
                     const char *format, ...)
    __attribute__((format(printf, 3, 4)));

// 64-byte aligned allocation; NULL on failure or for 0 bytes.
void *alignedAlloc(size_t bytes);

// Makes `buffer` hold at least `bytes`; false when out of memory.
bool reserve(ScratchBuffer &buffer, size_t bytes);

} // namespace kiln

#endif // KILN_RUNTIME_SESSION_H
