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
#include "kiln/model_abi.h"

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

// One key's entry in the graph cache. A key is the run's symbol values and
// its input and output device addresses; `exec` is NULL while the key has
// only run plainly once (the next run with it captures) and after a capture
// that failed (`captureFailed`: the key keeps running plainly).
struct GraphSlot {
  int64_t *key; // malloc'ed; NULL for a free slot
  size_t keyLength;
  CUgraphExec exec;
  bool captureFailed;
  uint64_t lastUse;
};

struct GraphCache {
  static constexpr int kCapacity = 8; // least recently used is replaced
  GraphSlot slots[kCapacity];
  uint64_t clock;
  int64_t *scratch; // the running key
  size_t scratchCapacity;
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

  // CUDA graphs (CudaGraphs.cpp): off with KILN_CUDA_GRAPHS=0 or a driver
  // without the graph entry points.
  bool graphsEnabled;
  bool capturing; // the stream records work instead of running it
  GraphCache graphs;

  bool failed;
  char error[384];
};

// The state of the session running on this thread, or NULL.
State *currentState();

// Calls the generated code with `s` as the running session.
void callModel(State *s, const kiln_abi_model *model, void **in, void **out,
               const int64_t *symbols);

// Records the first failure of the run; later work is skipped.
void fail(State *s, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

// `bytes` of device memory from the arena, 256-byte aligned; 0 on failure.
// Growing the arena while the stream captures fails the capture instead.
CUdeviceptr arenaAlloc(State *s, size_t bytes);

// Where the arena's bump pointer is, to give back what a failed capture
// took (a capture never adds a chunk).
struct ArenaMark {
  size_t used, inUse;
};
ArenaMark arenaMark(const State *s);
void arenaRewind(State *s, ArenaMark mark);

// Runs model->run's device work on the session's stream for one run whose
// inputs and outputs are at `in`/`out`: the first run with a key runs
// plainly, the second captures a graph and launches it, later ones launch
// that graph. Any failure while capturing ends the capture and runs plainly,
// so the result never depends on whether a graph was used. Failures of the
// run itself are recorded with fail().
void runModel(State *s, const kiln_abi_model *model, void **in, void **out,
              const int64_t *symbols, bool onDevice);

// Destroys every captured graph and forgets every key: the arena's chunk,
// to which the graphs hold addresses, is about to change.
void clearGraphs(State *s);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_CUDASESSION_H
