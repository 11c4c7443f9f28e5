/*===- FakeCudaDriver.c - A host-memory stand-in for libcuda.so.1 ---------===*
 *
 * Built as fakecuda/libcuda.so.1 for CudaRuntimeTest, which points
 * LD_LIBRARY_PATH at it: the runtime's dlopen then finds this instead of a
 * driver, so the session, arena, constant table, module cache and copies of
 * runtime/cuda run on a machine without a GPU. "Device" memory is host
 * memory; kernels are the host functions of kKernels below, run once per
 * thread of the grid, or the runtime's own attention kernels, whose device
 * source runs on the block emulator (../cudaemu). It checks nothing about
 * PTX: the images it is given are only counted.
 *===----------------------------------------------------------------------===*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cudaemu/FlashAttentionEmulation.h"

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

/* Counters the test reads through dlsym. */
int fake_cuda_module_loads, fake_cuda_launches, fake_cuda_allocs,
    fake_cuda_live_allocs, fake_cuda_htod_copies;

/* add_one(float *out, const float *in, int64_t n): out[i] = in[i] + 1. */
static void addOne(int64_t thread, void **params) {
  float *out = *(float **)params[0];
  const float *in = *(const float **)params[1];
  int64_t n = *(int64_t *)params[2];
  if (thread < n)
    out[thread] = in[thread] + 1.0f;
}

typedef struct {
  const char *name;
  void (*fn)(int64_t thread, void **params); /* NULL: an emulated kernel */
} Kernel;
static const Kernel kKernels[] = {{"add_one", addOne}};
static Kernel emulated[8];
static int numEmulated;

/* The launches and last grid of emulated kernels, for the test. */
int fake_cuda_emulated_launches;
unsigned fake_cuda_last_emulated_grid[4];

CUresult cuInit(unsigned flags) { (void)flags; return 0; }
CUresult cuGetErrorString(CUresult r, const char **s) {
  *s = r ? "CUDA_ERROR_FAKE" : "no error";
  return 0;
}
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(int *d, int ordinal) { *d = ordinal; return 0; }
CUresult cuDeviceGetAttribute(int *v, int attr, int d) {
  (void)attr; (void)d; *v = 0; return 0;
}
static int context;
CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) {
  (void)d; *ctx = &context; return 0;
}
CUresult cuDevicePrimaryCtxRelease_v2(int d) { (void)d; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == &context ? 0 : 201; }
static int stream;
CUresult cuStreamCreate(void **s, unsigned flags) {
  (void)flags; *s = &stream; return 0;
}
CUresult cuStreamDestroy_v2(void *s) { return s == &stream ? 0 : 400; }
CUresult cuStreamSynchronize(void *s) { return s == &stream ? 0 : 400; }
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  void *m = malloc(bytes ? bytes : 1);
  if (!m)
    return 2;
  ++fake_cuda_allocs;
  ++fake_cuda_live_allocs;
  *p = (CUdeviceptr)(uintptr_t)m;
  return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  --fake_cuda_live_allocs;
  free((void *)(uintptr_t)p);
  return 0;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *s) {
  (void)s;
  ++fake_cuda_htod_copies;
  memcpy((void *)(uintptr_t)d, h, n);
  return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, void *s) {
  (void)s;
  memcpy(h, (const void *)(uintptr_t)d, n);
  return 0;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, size_t n, void *s) {
  (void)s;
  memmove((void *)(uintptr_t)d, (const void *)(uintptr_t)src, n);
  return 0;
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void *s) {
  (void)s;
  for (size_t i = 0; i < n; ++i)
    ((unsigned *)(uintptr_t)d)[i] = v;
  return 0;
}
CUresult cuMemsetD2D32Async(CUdeviceptr d, size_t pitch, unsigned v,
                            size_t width, size_t height, void *s) {
  (void)s;
  for (size_t row = 0; row < height; ++row)
    for (size_t i = 0; i < width; ++i)
      ((unsigned *)(uintptr_t)(d + row * pitch))[i] = v;
  return 0;
}
CUresult cuModuleLoadData(void **module, const void *image) {
  ++fake_cuda_module_loads;
  *module = (void *)image;
  return 0;
}
CUresult cuModuleUnload(void *module) { (void)module; return 0; }
CUresult cuModuleGetFunction(void **f, void *module, const char *name) {
  (void)module;
  for (size_t i = 0; i < sizeof(kKernels) / sizeof(kKernels[0]); ++i)
    if (strcmp(kKernels[i].name, name) == 0) {
      *f = (void *)&kKernels[i];
      return 0;
    }
  if (!kiln_cudaemu_has_kernel(name))
    return 500; /* CUDA_ERROR_NOT_FOUND */
  for (int i = 0; i < numEmulated; ++i)
    if (strcmp(emulated[i].name, name) == 0) {
      *f = &emulated[i];
      return 0;
    }
  if (numEmulated == (int)(sizeof(emulated) / sizeof(emulated[0])))
    return 2;
  emulated[numEmulated].name = strdup(name);
  emulated[numEmulated].fn = NULL;
  *f = &emulated[numEmulated++];
  return 0;
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *s, void **params, void **extra) {
  (void)smem; (void)extra;
  if (s != &stream)
    return 400;
  ++fake_cuda_launches;
  const Kernel *k = (const Kernel *)f;
  if (!k->fn) {
    ++fake_cuda_emulated_launches;
    fake_cuda_last_emulated_grid[0] = gx;
    fake_cuda_last_emulated_grid[1] = gy;
    fake_cuda_last_emulated_grid[2] = gz;
    fake_cuda_last_emulated_grid[3] = bx;
    return kiln_cudaemu_launch(k->name, gx, gy, gz, bx, by, bz, params)
               ? 719 /* CUDA_ERROR_LAUNCH_FAILED */
               : 0;
  }
  int64_t threads = (int64_t)gx * gy * gz * bx * by * bz;
  for (int64_t t = 0; t < threads; ++t)
    k->fn(t, params);
  return 0;
}
