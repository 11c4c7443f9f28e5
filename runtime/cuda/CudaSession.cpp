//===- CudaSession.cpp - Session create, run and destroy on CUDA ----------===//
#include "CudaSession.h"
#include "kiln/cuda.h"

#include <new>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace kiln::cuda {

// Enough for cuBLASLt's heuristics to pick its fast split-K and stream-K
// kernels on Hopper/Blackwell.
constexpr size_t kWorkspaceBytes = 32ull << 20;
constexpr size_t kArenaAlignment = 256;
constexpr size_t kMinChunkBytes = 16ull << 20;

static thread_local State *tlsCurrent = nullptr;

State *currentState() { return tlsCurrent; }

void callModel(State *s, const kiln_abi_model *model, void **in, void **out,
               const int64_t *symbols) {
  State *saved = tlsCurrent;
  tlsCurrent = s;
  int32_t code = model->run(in, out, symbols);
  tlsCurrent = saved;
  if (code != 0)
    fail(s, "the generated code returned %d", code);
}

void fail(State *s, const char *format, ...) {
  if (s->failed)
    return;
  s->failed = true;
  va_list args;
  va_start(args, format);
  vsnprintf(s->error, sizeof(s->error), format, args);
  va_end(args);
}

template <typename T> static bool grow(T *&array, int32_t &capacity) {
  int32_t next = capacity ? 2 * capacity : 16;
  void *p = realloc(array, sizeof(T) * next);
  if (!p)
    return false;
  array = static_cast<T *>(p);
  capacity = next;
  return true;
}

CUdeviceptr arenaAlloc(State *s, size_t bytes) {
  bytes = (bytes + kArenaAlignment - 1) & ~(kArenaAlignment - 1);
  if (bytes == 0)
    bytes = kArenaAlignment;
  if (s->numChunks > 0) {
    ArenaChunk &c = s->chunks[s->numChunks - 1];
    if (c.size - c.used >= bytes) {
      CUdeviceptr p = c.base + c.used;
      c.used += bytes;
      s->inUse += bytes;
      return p;
    }
  }
  if (s->capturing) {
    // cuMemAlloc is not capturable, and a new chunk would move the next
    // replay's buffers.
    fail(s, "the arena would grow during graph capture");
    return 0;
  }
  if (s->numChunks == s->maxChunks && !grow(s->chunks, s->maxChunks)) {
    fail(s, "out of host memory for the arena's chunk list");
    return 0;
  }
  size_t size = bytes > kMinChunkBytes ? bytes : kMinChunkBytes;
  if (s->numChunks > 0 && size < 2 * s->chunks[s->numChunks - 1].size)
    size = 2 * s->chunks[s->numChunks - 1].size;
  CUdeviceptr base = 0;
  if (CUresult r = s->driver.cuMemAlloc(&base, size)) {
    // The doubling may ask for far more than needed: retry with the request.
    size = bytes;
    if ((r = s->driver.cuMemAlloc(&base, size))) {
      fail(s, "cannot allocate %zu bytes of device memory: %s", size,
           errorString(s->driver, r));
      return 0;
    }
  }
  s->chunks[s->numChunks++] = {base, size, bytes};
  s->inUse += bytes;
  return base;
}

ArenaMark arenaMark(const State *s) {
  return {s->numChunks ? s->chunks[s->numChunks - 1].used : 0, s->inUse};
}

void arenaRewind(State *s, ArenaMark mark) {
  if (s->numChunks)
    s->chunks[s->numChunks - 1].used = mark.used;
  s->inUse = mark.inUse;
}

// After a finished run (stream idle): one chunk of the high-water size.
static void arenaReset(State *s) {
  if (s->inUse > s->highWater)
    s->highWater = s->inUse;
  s->inUse = 0;
  if (s->numChunks == 1) {
    s->chunks[0].used = 0;
    return;
  }
  if (s->numChunks > 1)
    clearGraphs(s); // their buffers are in the chunks freed here
  for (int32_t i = 0; i < s->numChunks; ++i)
    s->driver.cuMemFree(s->chunks[i].base);
  s->numChunks = 0;
  CUdeviceptr base = 0;
  if (s->highWater && s->driver.cuMemAlloc(&base, s->highWater) == CUDA_SUCCESS)
    s->chunks[s->numChunks++] = {base, s->highWater, 0};
}

static size_t dtypeBytes(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F64:
  case KILN_DTYPE_I64:
  case KILN_DTYPE_U64:
    return 8;
  case KILN_DTYPE_F32:
  case KILN_DTYPE_I32:
  case KILN_DTYPE_U32:
    return 4;
  case KILN_DTYPE_F16:
  case KILN_DTYPE_BF16:
  case KILN_DTYPE_I16:
  case KILN_DTYPE_U16:
    return 2;
  default:
    return 1;
  }
}

static void destroyState(State *s) {
  if (s->context) {
    s->driver.cuCtxSetCurrent(s->context);
    if (s->stream)
      s->driver.cuStreamSynchronize(s->stream);
    clearGraphs(s);
    for (int32_t i = 0; i < s->numModules; ++i)
      s->driver.cuModuleUnload(s->modules[i].module);
    for (size_t i = 0; i < s->constantCapacity; ++i)
      if (s->constants && s->constants[i].host)
        s->driver.cuMemFree(s->constants[i].device);
    for (int32_t i = 0; i < s->numChunks; ++i)
      s->driver.cuMemFree(s->chunks[i].base);
    if (s->workspace)
      s->driver.cuMemFree(s->workspace);
    clearGemmCache(s->blas, s->gemms);
    if (s->blasHandle)
      s->blas.destroy(s->blasHandle);
    if (s->stream)
      s->driver.cuStreamDestroy(s->stream);
    s->driver.cuDevicePrimaryCtxRelease(s->device);
  }
  unloadCublasLt(s->blas);
  unloadDriver(s->driver);
  free(s->chunks);
  free(s->constants);
  free(s->modules);
  free(s->kernels);
  free(s->graphs.scratch);
  s->~State();
  free(s);
}

static void *createState(int32_t ordinal, char *message, size_t messageSize) {
  void *memory = calloc(1, sizeof(State));
  if (!memory) {
    snprintf(message, messageSize, "out of memory");
    return nullptr;
  }
  State *s = new (memory) State();
  auto bail = [&](const char *format, const char *detail) -> void * {
    snprintf(message, messageSize, format, detail, ordinal);
    destroyState(s);
    return nullptr;
  };
  if (!loadDriver(s->driver, message, messageSize)) {
    destroyState(s);
    return nullptr;
  }
  int count = 0;
  if (CUresult r = s->driver.cuDeviceGetCount(&count))
    return bail("cuDeviceGetCount failed: %s (device %d)",
                errorString(s->driver, r));
  if (ordinal >= count) {
    snprintf(message, messageSize,
             "CUDA device %d requested, but this machine has %d", ordinal,
             count);
    destroyState(s);
    return nullptr;
  }
  if (CUresult r = s->driver.cuDeviceGet(&s->device, ordinal))
    return bail("cuDeviceGet failed: %s (device %d)",
                errorString(s->driver, r));
  if (CUresult r = s->driver.cuDevicePrimaryCtxRetain(&s->context, s->device))
    return bail("cannot retain the primary context: %s (device %d)",
                errorString(s->driver, r));
  s->driver.cuCtxSetCurrent(s->context);
  if (CUresult r = s->driver.cuStreamCreate(&s->stream, CU_STREAM_NON_BLOCKING))
    return bail("cannot create a stream: %s (device %d)",
                errorString(s->driver, r));
  if (!loadCublasLt(s->blas, message, messageSize)) {
    destroyState(s);
    return nullptr;
  }
  if (cublasStatus_t st = s->blas.create(&s->blasHandle))
    return bail("cublasLtCreate failed: %s (device %d)",
                s->blas.statusString(st));
  // One workspace for the session's life: captured GEMMs hold its address.
  s->workspaceBytes = kWorkspaceBytes;
  if (CUresult r = s->driver.cuMemAlloc(&s->workspace, s->workspaceBytes))
    return bail("cannot allocate the cuBLASLt workspace: %s (device %d)",
                errorString(s->driver, r));
  const char *graphs = getenv(KILN_CUDA_GRAPHS_ENV);
  s->graphsEnabled =
      hasGraphs(s->driver) && !(graphs && strcmp(graphs, "0") == 0);
  return s;
}

static void destroy(void *state) { destroyState(static_cast<State *>(state)); }

static int32_t run(void *state, const kiln_abi_model *model,
                   void *const *inputs, void *const *outputs,
                   const int64_t *symbols, const int64_t *outputDims,
                   uint32_t flags, char *message, size_t messageSize) {
  bool onDevice = flags & KILN_ABI_RUN_DEVICE_POINTERS;
  State *s = static_cast<State *>(state);
  s->failed = false;
  s->error[0] = '\0';
  s->driver.cuCtxSetCurrent(s->context);
  // The descriptor's run takes one pointer per tensor: build the device
  // lists on the stack (models have tens of inputs at most).
  constexpr int32_t kMaxTensors = 1024;
  if (model->num_inputs > kMaxTensors || model->num_outputs > kMaxTensors) {
    snprintf(message, messageSize, "more than %d inputs or outputs",
             kMaxTensors);
    return 1;
  }
  void *deviceIn[kMaxTensors], *deviceOut[kMaxTensors];
  size_t outBytes[kMaxTensors];
  for (int32_t i = 0; i < model->num_inputs && !s->failed; ++i) {
    const kiln_abi_tensor &t = model->inputs[i];
    size_t bytes = dtypeBytes(t.dtype);
    for (int32_t d = 0; d < t.rank; ++d)
      bytes *= (size_t)(t.dims[d] >= 0 ? t.dims[d] : symbols[t.dim_symbols[d]]);
    if (onDevice) {
      deviceIn[i] = inputs[i];
      continue;
    }
    CUdeviceptr p = arenaAlloc(s, bytes);
    if (p && bytes)
      if (CUresult r =
              s->driver.cuMemcpyHtoDAsync(p, inputs[i], bytes, s->stream))
        fail(s, "copying input '%s' to the device: %s", t.name,
             errorString(s->driver, r));
    deviceIn[i] = reinterpret_cast<void *>(p);
  }
  const int64_t *dims = outputDims;
  for (int32_t o = 0; o < model->num_outputs && !s->failed; ++o) {
    const kiln_abi_tensor &t = model->outputs[o];
    size_t bytes = dtypeBytes(t.dtype);
    for (int32_t d = 0; d < t.rank; ++d)
      bytes *= (size_t)*dims++;
    outBytes[o] = bytes;
    deviceOut[o] =
        onDevice ? outputs[o] : reinterpret_cast<void *>(arenaAlloc(s, bytes));
  }
  // The boundary copies stay outside any graph: the caller's host buffers
  // change from call to call and are pageable, which a graph's memcpy node
  // cannot take asynchronously.
  if (!s->failed)
    runModel(s, model, deviceIn, deviceOut, symbols, onDevice);
  for (int32_t o = 0; o < model->num_outputs && !s->failed && !onDevice; ++o)
    if (outBytes[o])
      if (CUresult r = s->driver.cuMemcpyDtoHAsync(
              outputs[o], reinterpret_cast<CUdeviceptr>(deviceOut[o]),
              outBytes[o], s->stream))
        fail(s, "copying output '%s' to the host: %s", model->outputs[o].name,
             errorString(s->driver, r));
  // Kernel faults surface here, at the first synchronization.
  if (CUresult r = s->driver.cuStreamSynchronize(s->stream))
    fail(s, "the run failed on the device: %s", errorString(s->driver, r));
  arenaReset(s);
  if (s->failed) {
    snprintf(message, messageSize, "%s", s->error);
    return 1;
  }
  return 0;
}

} // namespace kiln::cuda

extern "C" const kiln_abi_device kiln_cuda_device = {
    "cuda", kiln::cuda::createState, kiln::cuda::destroy, kiln::cuda::run};
