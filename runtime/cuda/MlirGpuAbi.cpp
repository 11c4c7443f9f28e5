//===- MlirGpuAbi.cpp - MLIR's GPU runtime entry points on the session ----===//
//
// MLIR's gpu-to-llvm lowering and its gpu.binary translation emit calls to
// the mgpu* functions that upstream's CudaRuntimeWrappers.cpp defines on a
// linked libcuda. Kiln defines them here on the session's dlopen'ed driver
// instead:
//  - mgpuModuleLoad runs from a global constructor when the artifact is
//    loaded, before any session exists, so it only hands back the image;
//    each session loads it on its first launch.
//  - Every stream is the session's stream. Work is ordered on it, so the
//    synchronize the lowering puts after each launch is left to the end of
//    the run, where the outputs are copied back. That also keeps a run
//    capturable as a CUDA graph (CudaGraphs.cpp): nothing inside a run
//    waits for the device.
//
//===----------------------------------------------------------------------===//
#include "CudaSession.h"
#include "kiln/cuda.h"

#include <stdint.h>
#include <stdlib.h>

using namespace kiln::cuda;

namespace {

template <typename T> bool growArray(T *&array, int32_t &capacity) {
  int32_t next = capacity ? 2 * capacity : 16;
  void *p = realloc(array, sizeof(T) * next);
  if (!p)
    return false;
  array = static_cast<T *>(p);
  capacity = next;
  return true;
}

CUmodule moduleFor(State *s, const void *image) {
  for (int32_t i = 0; i < s->numModules; ++i)
    if (s->modules[i].image == image)
      return s->modules[i].module;
  if (s->numModules == s->maxModules && !growArray(s->modules, s->maxModules)) {
    fail(s, "out of host memory for the module table");
    return nullptr;
  }
  CUmodule module = nullptr;
  if (CUresult r = s->driver.cuModuleLoadData(&module, image)) {
    fail(s,
         "cannot load the kernel image: %s (it holds sm_90/sm_100 cubins "
         "and PTX; an older GPU or driver cannot use it)",
         errorString(s->driver, r));
    return nullptr;
  }
  s->modules[s->numModules++] = {image, module};
  return module;
}

size_t hashPointer(const void *p) {
  uintptr_t v = reinterpret_cast<uintptr_t>(p);
  v ^= v >> 17;
  v *= 0xed5ad4bbu;
  return v ^ (v >> 11);
}

bool growConstants(State *s) {
  size_t capacity = s->constantCapacity ? 2 * s->constantCapacity : 64;
  auto *table =
      static_cast<ConstantSlot *>(calloc(capacity, sizeof(ConstantSlot)));
  if (!table)
    return false;
  for (size_t i = 0; i < s->constantCapacity; ++i) {
    ConstantSlot &old = s->constants[i];
    if (!old.host)
      continue;
    size_t j = hashPointer(old.host) & (capacity - 1);
    while (table[j].host)
      j = (j + 1) & (capacity - 1);
    table[j] = old;
  }
  free(s->constants);
  s->constants = table;
  s->constantCapacity = capacity;
  return true;
}

} // namespace

extern "C" {

void *mgpuModuleLoad(void *data, size_t /*size*/) { return data; }
void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) { return data; }
void mgpuModuleUnload(void * /*module*/) {}

CUfunction mgpuModuleGetFunction(void *image, const char *name) {
  State *s = currentState();
  if (!s || s->failed)
    return nullptr;
  for (int32_t i = 0; i < s->numKernels; ++i)
    if (s->kernels[i].image == image && s->kernels[i].name == name)
      return s->kernels[i].function;
  if (s->capturing) {
    // Loading (and, with lazy loading, resolving) is not capturable; the
    // plain run that the failed capture falls back to does it.
    fail(s, "kernel '%s' first looked up during graph capture", name);
    return nullptr;
  }
  CUmodule module = moduleFor(s, image);
  if (!module)
    return nullptr;
  CUfunction function = nullptr;
  if (CUresult r = s->driver.cuModuleGetFunction(&function, module, name)) {
    fail(s, "kernel '%s' not found: %s", name, errorString(s->driver, r));
    return nullptr;
  }
  if (s->numKernels < s->maxKernels || growArray(s->kernels, s->maxKernels))
    s->kernels[s->numKernels++] = {image, name, function};
  return function;
}

void mgpuLaunchKernel(CUfunction function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, CUstream /*stream*/,
                      void **params, void **extra, size_t /*paramsCount*/) {
  State *s = currentState();
  if (!s || s->failed || !function)
    return;
  // An empty grid (a dimension bound to a 0-sized tensor) launches nothing.
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  if (CUresult r = s->driver.cuLaunchKernel(
          function, (unsigned)gridX, (unsigned)gridY, (unsigned)gridZ,
          (unsigned)blockX, (unsigned)blockY, (unsigned)blockZ, (unsigned)smem,
          s->stream, params, extra))
    fail(s,
         "kernel launch (grid %ld x %ld x %ld, block %ld x %ld x %ld) "
         "failed: %s",
         (long)gridX, (long)gridY, (long)gridZ, (long)blockX, (long)blockY,
         (long)blockZ, errorString(s->driver, r));
}

CUstream mgpuStreamCreate() {
  State *s = currentState();
  return s ? s->stream : nullptr;
}
void mgpuStreamDestroy(CUstream /*stream*/) {}
void mgpuStreamSynchronize(CUstream /*stream*/) {}

void *mgpuMemAlloc(uint64_t bytes, CUstream /*stream*/, bool /*hostShared*/) {
  return kiln_cuda_alloc((int64_t)bytes);
}
void mgpuMemFree(void * /*ptr*/, CUstream /*stream*/) {}

void mgpuMemcpy(void *dst, void *src, size_t bytes, CUstream /*stream*/) {
  State *s = currentState();
  if (!s || s->failed || bytes == 0)
    return;
  if (CUresult r = s->driver.cuMemcpyDtoDAsync(
          reinterpret_cast<CUdeviceptr>(dst),
          reinterpret_cast<CUdeviceptr>(src), bytes, s->stream))
    fail(s, "device copy of %zu bytes failed: %s", bytes,
         errorString(s->driver, r));
}

void mgpuMemset32(void *dst, unsigned value, size_t count,
                  CUstream /*stream*/) {
  State *s = currentState();
  if (!s || s->failed || count == 0)
    return;
  if (CUresult r = s->driver.cuMemsetD32Async(
          reinterpret_cast<CUdeviceptr>(dst), value, count, s->stream))
    fail(s, "device memset failed: %s", errorString(s->driver, r));
}

void *kiln_cuda_alloc(int64_t bytes) {
  State *s = currentState();
  if (!s || s->failed || bytes < 0)
    return nullptr;
  return reinterpret_cast<void *>(arenaAlloc(s, (size_t)bytes));
}

void *kiln_cuda_aligned_alloc(int64_t alignment, int64_t bytes) {
  // The arena aligns to 256 bytes, more than any memref asks for.
  (void)alignment;
  return kiln_cuda_alloc(bytes);
}

void kiln_cuda_free(void * /*ptr*/) {}

void *kiln_cuda_device_constant(const void *host, int64_t bytes) {
  State *s = currentState();
  if (!s || s->failed)
    return nullptr;
  if (s->numConstants * 2 >= s->constantCapacity && !growConstants(s)) {
    fail(s, "out of host memory for the constant table");
    return nullptr;
  }
  size_t mask = s->constantCapacity - 1;
  size_t j = hashPointer(host) & mask;
  while (s->constants[j].host && s->constants[j].host != host)
    j = (j + 1) & mask;
  if (s->constants[j].host)
    return reinterpret_cast<void *>(s->constants[j].device);
  if (s->capturing) {
    // The upload would be recorded, not run, and repeated by every replay.
    fail(s, "constant first used during graph capture");
    return nullptr;
  }
  CUdeviceptr device = 0;
  size_t size = bytes > 0 ? (size_t)bytes : 1;
  if (CUresult r = s->driver.cuMemAlloc(&device, size)) {
    fail(s, "cannot allocate %zu bytes for a constant: %s", size,
         errorString(s->driver, r));
    return nullptr;
  }
  if (bytes > 0)
    if (CUresult r = s->driver.cuMemcpyHtoDAsync(device, host, (size_t)bytes,
                                                 s->stream)) {
      s->driver.cuMemFree(device);
      fail(s, "cannot upload a constant of %zu bytes: %s", size,
           errorString(s->driver, r));
      return nullptr;
    }
  s->constants[j] = {host, device};
  ++s->numConstants;
  return reinterpret_cast<void *>(device);
}

} // extern "C"
