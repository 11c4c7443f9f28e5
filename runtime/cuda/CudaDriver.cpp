//===- CudaDriver.cpp - The CUDA driver API, loaded with dlopen -----------===//
#include "CudaDriver.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

namespace kiln::cuda {

template <typename Fn>
static bool lookup(void *library, const char *name, Fn &fn, char *message,
                   size_t messageSize) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  if (!fn)
    snprintf(message, messageSize,
             "libcuda.so.1 lacks %s (driver too old for CUDA 12)", name);
  return fn != nullptr;
}

template <typename Fn>
static void optional(void *library, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
}

bool loadDriver(Driver &d, char *message, size_t messageSize) {
  memset(&d, 0, sizeof(d));
  d.library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!d.library) {
    snprintf(message, messageSize,
             "no CUDA driver: libcuda.so.1 not found (%s)", dlerror());
    return false;
  }
  bool ok =
      lookup(d.library, "cuInit", d.cuInit, message, messageSize) &&
      lookup(d.library, "cuGetErrorString", d.cuGetErrorString, message,
             messageSize) &&
      lookup(d.library, "cuDeviceGetCount", d.cuDeviceGetCount, message,
             messageSize) &&
      lookup(d.library, "cuDeviceGet", d.cuDeviceGet, message, messageSize) &&
      lookup(d.library, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, message,
             messageSize) &&
      lookup(d.library, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain,
             message, messageSize) &&
      lookup(d.library, "cuDevicePrimaryCtxRelease_v2",
             d.cuDevicePrimaryCtxRelease, message, messageSize) &&
      lookup(d.library, "cuCtxSetCurrent", d.cuCtxSetCurrent, message,
             messageSize) &&
      lookup(d.library, "cuStreamCreate", d.cuStreamCreate, message,
             messageSize) &&
      lookup(d.library, "cuStreamDestroy_v2", d.cuStreamDestroy, message,
             messageSize) &&
      lookup(d.library, "cuStreamSynchronize", d.cuStreamSynchronize, message,
             messageSize) &&
      lookup(d.library, "cuMemAlloc_v2", d.cuMemAlloc, message, messageSize) &&
      lookup(d.library, "cuMemFree_v2", d.cuMemFree, message, messageSize) &&
      lookup(d.library, "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync, message,
             messageSize) &&
      lookup(d.library, "cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync, message,
             messageSize) &&
      lookup(d.library, "cuMemcpyDtoDAsync_v2", d.cuMemcpyDtoDAsync, message,
             messageSize) &&
      lookup(d.library, "cuMemsetD32Async", d.cuMemsetD32Async, message,
             messageSize) &&
      lookup(d.library, "cuMemsetD2D32Async", d.cuMemsetD2D32Async, message,
             messageSize) &&
      lookup(d.library, "cuModuleLoadData", d.cuModuleLoadData, message,
             messageSize) &&
      lookup(d.library, "cuModuleUnload", d.cuModuleUnload, message,
             messageSize) &&
      lookup(d.library, "cuModuleGetFunction", d.cuModuleGetFunction, message,
             messageSize) &&
      lookup(d.library, "cuLaunchKernel", d.cuLaunchKernel, message,
             messageSize);
  if (!ok) {
    unloadDriver(d);
    return false;
  }
  // Graphs are optional: without them runs stay plain.
  optional(d.library, "cuStreamBeginCapture_v2", d.cuStreamBeginCapture);
  optional(d.library, "cuStreamEndCapture", d.cuStreamEndCapture);
  optional(d.library, "cuGraphInstantiateWithFlags", d.cuGraphInstantiate);
  optional(d.library, "cuGraphLaunch", d.cuGraphLaunch);
  optional(d.library, "cuGraphExecDestroy", d.cuGraphExecDestroy);
  optional(d.library, "cuGraphDestroy", d.cuGraphDestroy);
  if (CUresult r = d.cuInit(0)) {
    snprintf(message, messageSize, "cuInit failed: %s", errorString(d, r));
    unloadDriver(d);
    return false;
  }
  return true;
}

void unloadDriver(Driver &d) {
  if (d.library)
    dlclose(d.library);
  memset(&d, 0, sizeof(d));
}

bool hasGraphs(const Driver &d) {
  return d.cuStreamBeginCapture && d.cuStreamEndCapture &&
         d.cuGraphInstantiate && d.cuGraphLaunch && d.cuGraphExecDestroy &&
         d.cuGraphDestroy;
}

const char *errorString(const Driver &d, CUresult result) {
  const char *text = nullptr;
  if (!d.cuGetErrorString ||
      d.cuGetErrorString(result, &text) != CUDA_SUCCESS || !text)
    return "unknown CUDA error";
  return text;
}

} // namespace kiln::cuda
