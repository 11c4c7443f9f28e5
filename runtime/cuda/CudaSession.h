//===- CudaSession.h - Per-session CUDA state -------------------*- C++ -*-===//
//
// What one session of a CUDA artifact owns: the loaded driver and cuBLASLt,
// the device's primary context, one stream, one cuBLASLt handle and its
// workspace, the device arena, the uploaded constants and the loaded kernel
// modules. Generated code reaches the running session's state through a
// thread-local pointer set for the duration of a run.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_CUDASESSION_H
#define KILN_RUNTIME_CUDA_CUDASESSION_H

#include "CublasLt.h"
#include "CudaDriver.h"

namespace kiln::cuda {

struct ArenaChunk {
  CUdeviceptr base;
  size_t size, used;
};

struct ConstantSlot {
  const void *host;
  CUdeviceptr device;
};

struct KernelSlot {
  const void *image;
  const char *name;
  CUfunction function;
};

struct ModuleSlot {
  const void *image;
  CUmodule module;
};

struct State {
  Driver driver;
  CublasLt blas;
  CUdevice device;
  CUcontext context;
  CUstream stream;
  cublasLtHandle_t blasHandle;
  CUdeviceptr workspace;
  size_t workspaceBytes;
  GemmCache gemms;

  // Bump arena: chunks are added while a run needs more, and merged into
  // one of the high-water size after it, so steady-state runs allocate
  // nothing.
  ArenaChunk *chunks;
  int32_t numChunks, maxChunks;
  size_t highWater, inUse;

  ConstantSlot *constants; // open addressing on the host pointer
  size_t constantCapacity, numConstants;
  ModuleSlot *modules;
  int32_t numModules, maxModules;
  KernelSlot *kernels;
  int32_t numKernels, maxKernels;

  bool failed;
  char error[384];
};

// The state of the session running on this thread, or NULL.
State *currentState();

// Records the first failure of the run; later work is skipped.
void fail(State *s, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

// `bytes` of device memory from the arena, 256-byte aligned; 0 on failure.
CUdeviceptr arenaAlloc(State *s, size_t bytes);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_CUDASESSION_H
